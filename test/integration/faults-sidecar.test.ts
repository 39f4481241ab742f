/**
 * Delivery guarantees of CONTRACT.md section 6 under sidecar faults, through the real binary:
 * a fake Layotto that refuses, slows down, hangs, restarts empty or does not know a component.
 * Each test would fail against an agent that broke the guarantee it names.
 */
import assert from 'node:assert/strict';
import { setTimeout as pace } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { afterEach, describe, it } from 'node:test';
import { hashComponent } from '../../src/domain/hash.js';
import type { RecordedCall } from '../fakes/layotto-server.js';
import type { AgentProcess, LogLine } from '../support/agent-process.js';
import { startRunSandbox, type RunSandbox } from '../support/run-sandbox.js';
import { waitUntil } from '../support/wait.js';
import { componentsOf, runCleanups } from '../support/cleanups.js';
import { REDIS_RELEASE as BASE } from '../fixtures/namespaces.js';

const APP_ID = 'faults-sidecar';
const ALL = ['state/redis', 'lock/redis', 'sequencer/redis'];

afterEach(runCleanups);

function sandbox(
  options: { items?: Readonly<Record<string, string>>; components?: readonly string[]; extraArgs?: readonly string[] } = {},
): Promise<RunSandbox> {
  return startRunSandbox({ appId: APP_ID, items: options.items ?? BASE, ...options });
}

function hashOf(id: string, metadata: Readonly<Record<string, string>>): string {
  const [kind = '', name = ''] = id.split('/');
  return hashComponent({ kind, name, metadata });
}

/** Waits until the sidecar runs exactly what `items` describe and the agent is polling again. */
async function converged(sandboxed: RunSandbox, items: Readonly<Record<string, string>> = BASE): Promise<void> {
  const expected = componentsOf(items);
  await sandboxed.sidecar.waitFor(
    (s) => [...expected].every(([id, metadata]) => isDeepStrictEqual(s.current(id), metadata)),
    10_000,
  );
  await waitUntil(() => sandboxed.apollo.openPolls() === 1, 5_000, 'a held long-poll');
}

function waitApplied(agent: AgentProcess, id: string, metadata: Readonly<Record<string, string>>, timeoutMs = 10_000): Promise<LogLine> {
  const hash = hashOf(id, metadata);
  return agent.waitForLog((l) => l.message === 'applied' && l.component === id && l.hash === hash, timeoutMs, `${id} applied with ${JSON.stringify(metadata)}`);
}

async function readyz(http: string): Promise<{ status: number; body: { ready: boolean; components: Record<string, { state: string; code?: string; message?: string }> } }> {
  const response = await fetch(`http://${http}/readyz`);
  return { status: response.status, body: (await response.json()) as never };
}

async function metric(http: string, series: string): Promise<number | undefined> {
  const text = await (await fetch(`http://${http}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const gaps = (calls: readonly RecordedCall[]): number[] => calls.slice(1).map((call, i) => call.receivedAt - calls[i]!.receivedAt);

describe('faults: the sidecar', () => {
  it('UNAVAILABLE for 3 calls: retried with growing backoff until applied, 4 attempts', async () => {
    const box = await sandbox();
    const { apollo, sidecar, agent } = box;
    await converged(box);
    const before = sidecar.callsFor('state/redis').length;
    sidecar.failNext(3, 'UNAVAILABLE', 'connection refused');
    const next = { ...BASE, 'state.redis.disasterSwitch': 'on' };
    apollo.publish('application', next);
    const applied = await waitApplied(agent, 'state/redis', componentsOf(next).get('state/redis')!, 15_000);

    const calls = sidecar.callsFor('state/redis').slice(before, before + 4);
    assert.deepEqual(calls.map((c) => c.code), ['UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE', 'OK']);
    assert.ok(calls.every((c) => c.metadata.disasterSwitch === 'on'), 'every retry carries the new config');
    assert.equal(applied.attempts, 4);
    const waits = gaps(calls);
    assert.ok(waits.every((ms) => ms >= 50), `retries wait: ${waits.join(', ')} ms`);
    // Exponential (factor 2, jitter at most x2): the third wait is longer than the first.
    assert.ok(waits[2]! > waits[0]!, `backoff grows: ${waits.join(', ')} ms`);
    assert.deepEqual(sidecar.current('state/redis'), componentsOf(next).get('state/redis'));
  });

  it('a slow sidecar during a burst of 100 releases: one call at a time, versions only increase, latest wins, ends on the last', async () => {
    const DELAY_MS = 1_500;
    const RELEASES = 100;
    const items = (version: number): Record<string, string> => ({ ...BASE, 'state.redis.version': String(version) });
    const box = await sandbox({ items: items(0) });
    const { apollo, sidecar, agent } = box;
    await converged(box, items(0));
    const before = sidecar.callsFor('state/redis').length;
    const lockCalls = sidecar.callsFor('lock/redis').length;
    sidecar.setDelay(DELAY_MS);

    const versionOf = new Map<string, number>();
    for (let version = 1; version <= RELEASES; version += 1) {
      versionOf.set(apollo.publish('application', items(version)).releaseKey, version);
      // Pacing the load, not waiting for anything: 100 releases spread over 2 s.
      await pace(20);
    }
    await waitApplied(agent, 'state/redis', componentsOf(items(RELEASES)).get('state/redis')!, 15_000);

    const calls = sidecar.callsFor('state/redis').slice(before);
    const versions = calls.map((c) => Number(c.metadata.version));
    const observed = agent
      .logs()
      .filter((l) => l.message === 'Apollo namespace updated' && versionOf.has(String(l.releaseKey)))
      .map((l) => versionOf.get(String(l.releaseKey))!);
    assert.ok(calls.every((c) => c.code === 'OK'), 'every call answered');
    assert.deepEqual([...versions].sort((a, b) => a - b), versions, `versions only increase: ${versions.join(', ')}`);
    assert.equal(versions.at(-1), RELEASES, 'ends on the last release');
    const waits = gaps(calls);
    assert.ok(
      waits.every((ms) => ms >= DELAY_MS - 5),
      `a call starts only after the previous one was answered (${DELAY_MS} ms each): ${waits.join(', ')} ms apart`,
    );
    assert.ok(observed.length >= 3, `the agent saw several versions during the burst: ${observed.join(', ')}`);
    assert.ok(calls.length < observed.length, `pending versions superseded: ${calls.length} pushes of ${observed.length} versions seen`);
    assert.ok(calls.length <= RELEASES / 10, `pushes far fewer than releases: ${calls.length}`);
    assert.equal(sidecar.callsFor('lock/redis').length, lockCalls, 'untouched components are not pushed');
  });

  it('a sidecar restarted empty gets the full desired set again without any Apollo release', async () => {
    const box = await sandbox();
    const { sidecar, agent, http } = box;
    await converged(box);
    const fetched = agent.logs().filter((l) => l.message === 'Apollo namespace updated').length;
    await sidecar.restart();
    assert.equal(sidecar.current('state/redis'), undefined, 'the restarted fake knows nothing');
    const before = sidecar.calls.length;
    await converged(box);
    const repushed = new Set(sidecar.calls.slice(before).filter((c) => c.code === 'OK').map((c) => c.id));
    assert.deepEqual([...repushed].sort(), [...ALL].sort());
    assert.equal(agent.logs().filter((l) => l.message === 'Apollo namespace updated').length, fetched, 'no new release was involved');
    await waitUntil(async () => (await readyz(http)).status === 200, 5_000, 'ready again');
  });

  it('an unknown component: INVALID_ARGUMENT once, not retried, logged once, rejected in /readyz (200); a newer version and a sidecar restart try again', async () => {
    const box = await sandbox({ components: ['state/redis', 'lock/redis'] });
    const { apollo, sidecar, agent, http } = box;
    const rejections = (): LogLine[] =>
      agent.logs().filter((l) => l.level === 'warn' && l.component === 'sequencer/redis' && /rejected/.test(l.message));
    await waitUntil(async () => (await readyz(http)).status === 200, 10_000, '/readyz 200 with the others applied');
    const ready = await readyz(http);
    assert.equal(ready.body.ready, true);
    assert.equal(ready.body.components['sequencer/redis']?.state, 'rejected');
    assert.equal(ready.body.components['sequencer/redis']?.code, 'INVALID_ARGUMENT');
    assert.equal(ready.body.components['state/redis']?.state, 'applied');
    assert.deepEqual(
      sidecar.callsFor('sequencer/redis').map((c) => [c.code, c.message]),
      [['INVALID_ARGUMENT', 'component not found. kind: sequencer, name: redis']],
    );
    assert.equal(rejections().length, 1);
    assert.match(String(rejections()[0]!.details), /component not found\. kind: sequencer, name: redis/);

    // Another component's release reconciles everything; the rejected version must stay quiet.
    await waitUntil(() => apollo.openPolls() === 1, 5_000, 'a held long-poll');
    const second = { ...BASE, 'state.redis.disasterSwitch': 'on' };
    apollo.publish('application', second);
    await waitApplied(agent, 'state/redis', componentsOf(second).get('state/redis')!);
    assert.equal(sidecar.callsFor('sequencer/redis').length, 1, 'the rejected version is not retried');
    assert.equal(rejections().length, 1, 'the rejection is logged once');

    await waitUntil(() => apollo.openPolls() === 1, 5_000, 'a held long-poll');
    const third = { ...second, 'sequencer.redis.redisHost': '10.0.0.2:6379' };
    apollo.publish('application', third);
    await sidecar.waitFor((s) => s.callsFor('sequencer/redis').length === 2, 10_000);
    assert.equal(sidecar.callsFor('sequencer/redis')[1]!.metadata.redisHost, '10.0.0.2:6379', 'a newer version is tried');
    await waitUntil(() => rejections().length === 2, 5_000, 'the new version rejected and logged');

    await sidecar.restart();
    await sidecar.waitFor((s) => s.callsFor('sequencer/redis').length === 3, 15_000);
    assert.equal(sidecar.callsFor('sequencer/redis')[2]!.code, 'INVALID_ARGUMENT', 'a restarted sidecar is asked again');
    await waitUntil(async () => (await readyz(http)).status === 200, 10_000, 'ready again after the restart');
  });

  it('UNKNOWN from a component: at most 5 tries, then given up (logged), other components unaffected; a later version is applied', async () => {
    const box = await sandbox();
    const { apollo, sidecar, agent, http } = box;
    await converged(box);
    sidecar.failComponent('lock/redis', 'UNKNOWN', 'redis down');
    const lockBefore = sidecar.callsFor('lock/redis').length;
    const next = { ...BASE, 'state.redis.disasterSwitch': 'on', 'lock.redis.redisHost': '10.0.0.2:6379' };
    apollo.publish('application', next);

    const gaveUp = await agent.waitForLog(
      (l) => l.component === 'lock/redis' && /giving up/.test(l.message),
      20_000,
      'lock/redis given up',
    );
    const lockCalls = sidecar.callsFor('lock/redis').slice(lockBefore);
    assert.deepEqual(lockCalls.map((c) => c.code), ['UNKNOWN', 'UNKNOWN', 'UNKNOWN', 'UNKNOWN', 'UNKNOWN']);
    assert.equal(gaveUp.level, 'warn');
    assert.equal(gaveUp.attempt, 5);
    assert.equal(gaveUp.code, 'UNKNOWN');
    assert.equal(gaveUp.details, 'redis down');

    const logs = agent.logs();
    const stateApplied = logs.findIndex((l) => l.message === 'applied' && l.component === 'state/redis' && l.hash === hashOf('state/redis', componentsOf(next).get('state/redis')!));
    const gaveUpAt = logs.findIndex((l) => l.component === 'lock/redis' && /giving up/.test(l.message));
    assert.ok(stateApplied >= 0 && stateApplied < gaveUpAt, 'state/redis applied while lock/redis was still retrying');
    assert.equal(logs[stateApplied]!.attempts, 1);
    assert.equal((await readyz(http)).body.components['lock/redis']?.state, 'failed');
    assert.equal(await metric(http, 'apollo_sidecar_agent_applies_total{kind="lock",name="redis",result="failed"}'), 1);

    sidecar.healComponent('lock/redis');
    await waitUntil(() => apollo.openPolls() === 1, 5_000, 'a held long-poll');
    const healed = { ...next, 'lock.redis.redisHost': '10.0.0.3:6379' };
    apollo.publish('application', healed);
    await waitApplied(agent, 'lock/redis', componentsOf(healed).get('lock/redis')!);
    assert.deepEqual(
      sidecar.callsFor('lock/redis').slice(lockBefore).map((c) => [c.code, c.metadata.redisHost]),
      [...lockCalls.map((c) => [c.code, '10.0.0.2:6379']), ['OK', '10.0.0.3:6379']],
      'no sixth try of the given-up version',
    );
  });

  it('a hung sidecar: the call ends by its deadline, Apollo is still polled and newer releases fetched, no calls pile up; after the hang the latest arrives', async () => {
    const items = (version: number): Record<string, string> => ({ ...BASE, 'state.redis.version': String(version) });
    const box = await sandbox({ items: items(0) });
    const { apollo, sidecar, agent, http } = box;
    await converged(box, items(0));
    const before = sidecar.callsFor('state/redis').length;
    sidecar.hang(true);
    apollo.publish('application', items(1));
    await sidecar.waitFor((s) => s.callsFor('state/redis').length === before + 1, 10_000);
    const hungAt = sidecar.callsFor('state/redis')[before]!.receivedAt;

    const polls = (): number => apollo.requests.filter((r) => r.kind === 'notifications').length;
    const pollsWhileHung = polls();
    let latest = 1;
    for (const version of [2, 3]) {
      await waitUntil(() => apollo.openPolls() === 1, 5_000, 'the agent to poll again while the call hangs');
      const { releaseKey } = apollo.publish('application', items(version));
      await agent.waitForLog((l) => l.message === 'Apollo namespace updated' && l.releaseKey === releaseKey, 5_000, `release ${version} fetched`);
      latest = version;
    }
    assert.ok(polls() > pollsWhileHung, 'Apollo is polled while the sidecar hangs');
    assert.ok(Date.now() - hungAt < 4_500, 'all of that happened while the first call was still hanging');
    assert.equal(sidecar.callsFor('state/redis').length, before + 1, 'newer versions wait behind the hung call instead of piling up');
    const heap = await metric(http, 'nodejs_heap_size_used_bytes');
    assert.ok(heap !== undefined && heap < 256 * 1024 * 1024, `heap stays bounded: ${heap} bytes`);

    sidecar.hang(false);
    await waitApplied(agent, 'state/redis', componentsOf(items(latest)).get('state/redis')!, 20_000);
    const calls = sidecar.callsFor('state/redis').slice(before);
    assert.deepEqual(calls.map((c) => [c.metadata.version, c.code]), [['1', 'NO_ANSWER'], [String(latest), 'OK']]);
    const waited = calls[1]!.receivedAt - calls[0]!.receivedAt;
    assert.ok(waited >= 1_000 && waited <= 10_000, `the hung call ended by its deadline (${waited} ms), then the latest went`);
    assert.equal(agent.child.exitCode, null);
  });
});
