/**
 * Figure 2: 1000 releases of one component in about a second, each carrying a higher
 * `version`. What the sidecar then received for that component: how many pushes, whether the
 * versions only increased, whether the final state is the final release, and how long after
 * the last release the final version arrived. The reference client goes through the same
 * burst afterwards, as the baseline for what no coalescing costs.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { NAMESPACE, benchComponentId, type Client } from './namespace-fixtures.js';
import type { Sandbox } from './sandbox.js';

export interface BurstOptions {
  readonly releases: number;
  readonly durationMs: number;
}

export interface BurstResult {
  readonly client: Client;
  readonly releases: number;
  /** From the first publish to the last. */
  readonly spanMs: number;
  readonly pushes: number;
  readonly versionsPushed: readonly number[];
  readonly onlyIncreasing: boolean;
  /** The sidecar ends with exactly the metadata of the final release. */
  readonly finalStateCorrect: boolean;
  /** From the last publish to the sidecar receiving the final version. */
  readonly finalAppliedAfterMs: number;
}

const SETTLE_TIMEOUT_MS = 15_000;

function sameMetadata(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>>): boolean {
  if (!a) return false;
  const keys = Object.keys(b);
  return Object.keys(a).length === keys.length && keys.every((key) => a[key] === b[key]);
}

export async function measureBurst(sandbox: Sandbox, client: Client, options: BurstOptions): Promise<BurstResult> {
  const { apollo, sidecar } = sandbox;
  const namespace = NAMESPACE[client];
  const id = benchComponentId(client);
  const prefix = `state.${client}.`;
  await sandbox.waitForHeldPolls();
  const base = apollo.release(namespace)?.configurations;
  if (!base) throw new Error(`no release of ${namespace}`);
  const from = sidecar.calls.length;
  const items = (version: number): Record<string, string> => ({ ...base, [`${prefix}version`]: String(version) });

  const startedAt = Date.now();
  let published = 0;
  let lastPublishAt = startedAt;
  // Paced by the clock, not by a fixed per-release sleep, so timer slack cannot stretch the burst.
  while (published < options.releases) {
    const due = Math.min(options.releases, Math.floor(((Date.now() - startedAt) / options.durationMs) * options.releases) + 1);
    while (published < due) {
      published += 1;
      apollo.publish(namespace, items(published));
    }
    lastPublishAt = Date.now();
    if (published < options.releases) await delay(1);
  }

  const final = String(options.releases);
  await sidecar.waitFor((s) => s.current(id)?.['version'] === final, SETTLE_TIMEOUT_MS);
  const calls = sidecar.calls.slice(from).filter((call) => call.id === id);
  const versions = calls.map((call) => Number(call.metadata['version']));
  const finalCall = calls.find((call) => call.metadata['version'] === final);
  const expected = Object.fromEntries(
    Object.entries(items(options.releases))
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, value]) => [key.slice(prefix.length), value]),
  );
  return {
    client,
    releases: options.releases,
    spanMs: lastPublishAt - startedAt,
    pushes: calls.length,
    versionsPushed: versions,
    onlyIncreasing: versions.every((version, i) => i === 0 || version > (versions[i - 1] as number)),
    finalStateCorrect: sameMetadata(sidecar.current(id), expected),
    finalAppliedAfterMs: finalCall ? finalCall.receivedAt - lastPublishAt : Number.NaN,
  };
}
