import { readFileSync } from 'node:fs';

/**
 * The package's version, read from its package.json: one level above this module both in
 * `dist/` (compiled or bundled) and in `src/` (tsx), so it never goes stale after a release.
 */
export const AGENT_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;
