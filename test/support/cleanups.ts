/**
 * What every integration test file repeats: a stack of cleanups run after each test, temp
 * directories on it, and the components a properties release should end up as.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cleanups: (() => Promise<unknown>)[] = [];

/** Registers `cleanup` to run after the current test, latest first. */
export function onCleanup(cleanup: () => Promise<unknown>): void {
  cleanups.push(cleanup);
}

/** For `afterEach`: stops every server and process and removes every directory the test made. */
export async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) await cleanups.pop()!();
}

export async function tempDir(prefix = 'asa-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  onCleanup(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** `kind.name.key=value` properties → the metadata each component should end with. */
export function componentsOf(items: Readonly<Record<string, string>>): Map<string, Record<string, string>> {
  const components = new Map<string, Record<string, string>>();
  for (const [key, value] of Object.entries(items)) {
    const [kind, name, ...rest] = key.split('.');
    const id = `${kind}/${name}`;
    components.set(id, { ...components.get(id), [rest.join('.')]: value });
  }
  return components;
}
