/**
 * The suite-wide leak check: every value published under a secret-looking key (through the
 * fake Apollo) plus the fixture secrets must never appear in what the agent writes (stdout,
 * stderr) or serves. `test/support/agent-process.ts` checks each agent child when it is
 * stopped or a one-shot command ends; `fetchBody` checks a served body.
 */
import { secretValuesOf } from '../../src/domain/masking.js';
import { FIXTURE_SECRETS } from '../fixtures/secrets.js';

const secrets = new Set<string>(FIXTURE_SECRETS);

/** Called by the fake Apollo for every release it publishes. */
export function rememberSecrets(configurations: Readonly<Record<string, string>>): void {
  for (const value of secretValuesOf(configurations)) secrets.add(value);
}

/** The known secrets found in `text`, described without the values themselves. */
function leaksIn(text: string): string[] {
  return [...secrets].filter((secret) => text.includes(secret)).map((secret) => `${secret.slice(0, 2)}… (${secret.length} chars)`);
}

/** Throws if `text` holds a known secret: `where` says which output. */
export function assertNoLeak(where: string, text: string): void {
  const leaks = leaksIn(text);
  if (leaks.length > 0) throw new Error(`secret value(s) leaked in ${where}: ${leaks.join(', ')}`);
}

/** GET `url`, with the body checked for leaks. */
export async function fetchBody(url: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url);
  const text = await response.text();
  assertNoLeak(`the body of ${url}`, text);
  return { status: response.status, text };
}
