/**
 * Figure 3a: one release of SCALE_COMPONENTS × SCALE_KEYS_PER_COMPONENT keys; the time from
 * the publish until the sidecar has received every one of those components with this round's
 * values. Rounds alternate between the agent and the reference client; round 1 creates the
 * components, later rounds change every one of them.
 */
import { waitUntil } from '../test/support/wait.js';
import { NAMESPACE, SCALE_COMPONENTS, baseContent, scaleComponentId, scaleContent, type Client } from './namespace-fixtures.js';
import type { Sandbox } from './sandbox.js';

export interface ScaleRound {
  readonly client: Client;
  readonly round: number;
  /** Publish → the last of the components received. */
  readonly allAppliedMs: number;
  /** Publish → the first of them received: fetching, parsing, mapping and planning the release. */
  readonly firstPushMs: number;
  /** ApplyConfiguration calls for the scale components during the round. */
  readonly pushes: number;
}

const ROUND_TIMEOUT_MS = 20_000;

async function runRound(sandbox: Sandbox, client: Client, round: number): Promise<ScaleRound> {
  const { apollo, sidecar } = sandbox;
  const namespace = NAMESPACE[client];
  const ids = Array.from({ length: SCALE_COMPONENTS }, (_, index) => scaleComponentId(client, index));
  const marker = `round-${round}-value-0`;
  await sandbox.waitForHeldPolls();
  const current = apollo.release(namespace)?.configurations ?? baseContent(client);
  const kept = Object.fromEntries(Object.entries(current).filter(([key]) => !key.includes('-scale-')));
  const from = sidecar.calls.length;
  const publishedAt = Date.now();
  apollo.publish(namespace, { ...kept, ...scaleContent(client, round) });
  await waitUntil(() => ids.every((id) => sidecar.current(id)?.['key0'] === marker), ROUND_TIMEOUT_MS, `${client} to apply ${ids.length} components`);
  const wanted = new Set(ids);
  let first = Number.POSITIVE_INFINITY;
  let last = publishedAt;
  let pushes = 0;
  for (const call of sidecar.calls.slice(from)) {
    if (!wanted.has(call.id)) continue;
    pushes += 1;
    if (call.metadata['key0'] !== marker) continue;
    first = Math.min(first, call.receivedAt);
    last = Math.max(last, call.receivedAt);
  }
  return { client, round, allAppliedMs: last - publishedAt, firstPushMs: first - publishedAt, pushes };
}

export async function measureScaleRelease(sandbox: Sandbox, rounds: number): Promise<ScaleRound[]> {
  const results: ScaleRound[] = [];
  for (let round = 1; round <= rounds; round += 1) {
    const order: Client[] = round % 2 === 1 ? ['agent', 'reference'] : ['reference', 'agent'];
    for (const client of order) results.push(await runRound(sandbox, client, round));
  }
  return results;
}
