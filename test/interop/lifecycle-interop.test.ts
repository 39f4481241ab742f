/**
 * The real agent binary against a real grpc-go Lifecycle server validating like Layotto
 * (test/interop/layotto-lifecycle): what production sees. Run with `npm run test:interop`
 * (needs Go and protoc; see test/interop/build.ts); `npm test` does not run it.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, it } from 'node:test';
import { startFakeApollo } from '../fakes/apollo-server.js';
import { REDIS_RELEASE } from '../fixtures/namespaces.js';
import { runArgs, startAgent, type AgentProcess } from '../support/agent-process.js';
import { onCleanup, runCleanups, tempDir } from '../support/cleanups.js';
import { waitUntil } from '../support/wait.js';
import { startGoLifecycle, type GoLifecycleServer } from './go-lifecycle-server.js';

afterEach(runCleanups);

const NON_ASCII = '开关 ✓ é 🚀 Ωmega';
/** 5.4 MB in six values under 1 MiB each, like the component of the issue. */
const OVERSIZED = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`state.big.part${i}`, String(i).repeat(900_000)]));
/** How long the agent is watched for calls it should not make: more than one resync interval. */
const WINDOW_MS = 12_000;

async function sandbox(items: Record<string, string>, extraArgs: readonly string[] = [], serverArgs: readonly string[] = []) {
  const server = await startGoLifecycle(serverArgs);
  onCleanup(() => server.close());
  const apollo = await startFakeApollo({ appId: 'interop' });
  onCleanup(() => apollo.close());
  apollo.publish('application', items);
  const stateDir = await tempDir('asa-interop-');
  const agent = startAgent([...runArgs({ configService: apollo.url, appId: 'interop', sidecar: server.address, stateDir }), ...extraArgs]);
  onCleanup(() => agent.stop('SIGKILL'));
  const started = await agent.waitForLog((l) => l.message === 'agent started', 10_000, 'agent started');
  return { server, apollo, agent, http: String(started.http) };
}

const ok = (server: GoLifecycleServer, id: string): number => server.callsFor(id).filter((c) => c.code === 'OK').length;

async function ready(http: string): Promise<void> {
  await waitUntil(async () => (await fetch(`http://${http}/readyz`)).status === 200, 30_000, '/readyz 200');
}

function released(agent: AgentProcess): Promise<unknown> {
  return agent.waitForLog((l) => l.message === 'Apollo namespace updated', 10_000, 'a release fetched');
}

describe('interop: the agent against grpc-go serving Lifecycle like Layotto', () => {
  it('flip, non-ASCII text intact, a 2 MiB value applied; a crash and a graceful GOAWAY each re-push the full set once', async () => {
    const items = { ...REDIS_RELEASE, 'state.redis.note': NON_ASCII, 'state.large.blob': 'y'.repeat(2 * 1024 * 1024) };
    const { server, apollo, http } = await sandbox(items);
    await ready(http);
    const ids = ['state/redis', 'lock/redis', 'sequencer/redis', 'state/large'];
    assert.deepEqual(ids.map((id) => ok(server, id)), [1, 1, 1, 1]);
    assert.equal(server.callsFor('state/redis')[0]!.metadata?.['note'], NON_ASCII);
    assert.ok(server.callsFor('state/large')[0]!.bytes > 2 * 1024 * 1024);

    await waitUntil(() => apollo.openPolls() === 1, 5_000, 'a held long-poll');
    apollo.publish('application', { ...items, 'state.redis.disasterSwitch': 'on' });
    await waitUntil(() => server.callsFor('state/redis').at(-1)?.metadata?.['disasterSwitch'] === 'on', 10_000, 'the flip');
    assert.deepEqual(ids.map((id) => ok(server, id)), [2, 1, 1, 1], 'the flip pushes only state/redis');

    for (const [round, signal] of [[1, 'SIGKILL'], [2, 'SIGTERM']] as const) {
      await server.restart(signal);
      await waitUntil(() => ids.every((id) => ok(server, id) >= 1 + round), 20_000, `the full set re-pushed after ${signal}`);
      await ready(http);
      assert.deepEqual(ids.map((id) => ok(server, id)), [2 + round, 1 + round, 1 + round, 1 + round], `once each after ${signal}`);
    }
    assert.equal(server.calls.filter((c) => c.code !== 'OK').length, 0, server.calls.filter((c) => c.code !== 'OK').map((c) => c.message).join('; '));
  });

  it('an oversized component is never sent; others are; checked locally only, grpc-go refuses it once and it is not retried', async () => {
    const items = { ...REDIS_RELEASE, ...OVERSIZED };
    const { server, http } = await sandbox(items, ['--resync-interval', '10s']);
    await ready(http);
    await sleep(WINDOW_MS);
    assert.equal(server.calls.filter((c) => c.code === 'RESOURCE_EXHAUSTED').length, 0);
    assert.equal(ok(server, 'state/redis'), 1);

    const unchecked = await sandbox(items, ['--resync-interval', '10s', '--max-push-bytes', '8MiB']);
    await ready(unchecked.http);
    await sleep(WINDOW_MS);
    const refused = unchecked.server.calls.filter((c) => c.code === 'RESOURCE_EXHAUSTED');
    assert.equal(refused.length, 1, `calls over ${WINDOW_MS} ms: ${refused.length}`);
    assert.match(refused[0]!.message, /^grpc: received message larger than max \(\d+ vs\. 4194304\)$/);
  });

  it('a release with a lone surrogate is rejected naming the key; nothing of it is ever sent', async () => {
    const { server, apollo, agent, http } = await sandbox({ ...REDIS_RELEASE }, ['--resync-interval', '10s']);
    await ready(http);
    const before = server.calls.length;
    await waitUntil(() => apollo.openPolls() === 1, 5_000, 'a held long-poll');
    apollo.publish('application', { ...REDIS_RELEASE, 'state.redis.disasterSwitch': 'o\uD800n' });
    await released(agent).catch(() => undefined);
    const rejected = await agent.waitForLog((l) => l.level === 'error' && /rejected/.test(l.message), 10_000, 'the release rejected');
    assert.match(JSON.stringify(rejected), /state\.redis\.disasterSwitch/);
    await sleep(WINDOW_MS);
    assert.equal(server.calls.length, before, 'no call at all');
    assert.equal(server.calls.filter((c) => c.code === 'INTERNAL').length, 0);
  });
});
