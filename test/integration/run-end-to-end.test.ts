/**
 * The user story through the real binary: Apollo release → agent → Layotto ApplyConfiguration.
 * Each test starts its own fakes and agent on loopback and stops them all.
 */
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { startFakeApollo } from '../fakes/apollo-server.js';
import { startFakeLayotto } from '../fakes/layotto-server.js';
import { runArgs, startAgent, type AgentProcess } from '../support/agent-process.js';
import { startRunSandbox, type RunSandbox } from '../support/run-sandbox.js';
import { waitUntil } from '../support/wait.js';
import { onCleanup, runCleanups, tempDir } from '../support/cleanups.js';
import { REDIS_RELEASE as BASE } from '../fixtures/namespaces.js';

const APP_ID = 'orders';

afterEach(runCleanups);

function sandbox(options: { items?: Record<string, string>; extraArgs?: string[] } = {}): Promise<RunSandbox> {
  return startRunSandbox({ appId: APP_ID, items: options.items ?? BASE, ...(options.extraArgs ? { extraArgs: options.extraArgs } : {}) });
}

async function readyz(http: string): Promise<{ status: number; body: { ready: boolean; components: Record<string, { state: string }> } }> {
  const response = await fetch(`http://${http}/readyz`);
  return { status: response.status, body: (await response.json()) as never };
}

const appliedCount = (agent: AgentProcess, id: string): number =>
  agent.logs().filter((l) => l.message === 'applied' && l.component === id).length;

/** Until the ledger file lists `count` components: the agent has recorded them as applied. */
function ledgerHolds(stateDir: string, count: number): Promise<void> {
  return waitUntil(
    async () => {
      try {
        const ledger = JSON.parse(await readFile(join(stateDir, 'ledger.json'), 'utf8')) as { components: Record<string, unknown> };
        return Object.keys(ledger.components).length === count;
      } catch {
        return false;
      }
    },
    10_000,
    `the ledger to hold ${count} components`,
  );
}

describe('run: Apollo to Layotto end to end', () => {
  it('pushes the full desired set at start, becomes ready, and records the ledger (0600)', async () => {
    const { sidecar, http, stateDir, agent } = await sandbox();
    await sidecar.waitFor((s) => ['state/redis', 'lock/redis', 'sequencer/redis'].every((id) => s.current(id)), 10_000);
    assert.deepEqual(sidecar.current('state/redis'), { redisHost: '10.0.0.1:6379', disasterSwitch: 'off' });
    await waitUntil(async () => (await readyz(http)).status === 200, 5_000, '/readyz 200');
    await waitUntil(() => appliedCount(agent, 'sequencer/redis') === 1, 5_000, 'applied logs');
    await ledgerHolds(stateDir, 3);
    const ledgerPath = join(stateDir, 'ledger.json');
    assert.equal((await stat(ledgerPath)).mode & 0o777, 0o600);
    const metrics = await (await fetch(`http://${http}/metrics`)).text();
    assert.match(metrics, /apollo_sidecar_agent_applies_total\{kind="state",name="redis",result="applied"\} 1/);
    assert.match(metrics, /apollo_sidecar_agent_components_in_sync 3/);
    assert.match(metrics, /apollo_sidecar_agent_sidecar_connected 1/);
    assert.match(metrics, /apollo_sidecar_agent_release_to_apply_seconds_count/);
  });

  it('a one-key change pushes only its component, with its complete metadata', async () => {
    const { apollo, sidecar, agent } = await sandbox();
    await sidecar.waitFor((s) => s.calls.length === 3, 10_000);
    await waitUntil(() => apollo.openPolls() === 1, 5_000, 'a held long-poll');
    const before = sidecar.calls.length;
    apollo.publish('application', { ...BASE, 'state.redis.disasterSwitch': 'on' });
    await sidecar.waitFor((s) => s.current('state/redis')?.disasterSwitch === 'on', 5_000);
    await waitUntil(() => appliedCount(agent, 'state/redis') === 2, 5_000, 'the second apply of state/redis');
    const calls = sidecar.calls.slice(before);
    assert.deepEqual(
      calls.map((c) => [c.id, c.metadata]),
      [['state/redis', { redisHost: '10.0.0.1:6379', disasterSwitch: 'on' }]],
    );
  });

  it('a deleted key disappears from the next full push; a component with no keys left is kept and warned', async () => {
    const { apollo, sidecar, agent, stateDir } = await sandbox({ items: { ...BASE, 'state.redis.extra': 'x' } });
    await sidecar.waitFor((s) => s.current('state/redis')?.extra === 'x', 10_000);
    // A component is "removed" only once it was applied: publishing before sequencer/redis's first
    // push is recorded (a loaded machine) made a release that just never had it, and no warning.
    await ledgerHolds(stateDir, 3);
    const { 'state.redis.extra': _extra, 'sequencer.redis.redisHost': _seq, ...rest } = { ...BASE, 'state.redis.extra': 'x' };
    apollo.publish('application', rest);
    await sidecar.waitFor((s) => s.current('state/redis')?.extra === undefined, 5_000);
    assert.deepEqual(sidecar.current('state/redis'), { redisHost: '10.0.0.1:6379', disasterSwitch: 'off' });
    await agent.waitForLog((l) => l.level === 'warn' && l.component === 'sequencer/redis', 5_000, 'the removal warning');
    assert.equal(sidecar.callsFor('sequencer/redis').length, 1, 'a removed component is never pushed');

    // Its keys come back unchanged: pushed again, so that the ledger holds it as applied once more.
    apollo.publish('application', BASE);
    await sidecar.waitFor((s) => s.callsFor('sequencer/redis').length === 2, 5_000);
    assert.deepEqual(sidecar.callsFor('sequencer/redis')[1]?.metadata, sidecar.callsFor('sequencer/redis')[0]?.metadata);
  });

  it('sidecar UNAVAILABLE then recovery: retried until applied, in order', async () => {
    const apolloItems = { ...BASE };
    const { apollo, sidecar, agent } = await sandbox({ items: apolloItems });
    await sidecar.waitFor((s) => s.calls.length === 3, 10_000);
    await waitUntil(() => apollo.openPolls() === 1, 5_000, 'a held long-poll');
    sidecar.failNext(3, 'UNAVAILABLE', 'connection refused');
    apollo.publish('application', { ...apolloItems, 'state.redis.disasterSwitch': 'on' });
    await sidecar.waitFor((s) => s.current('state/redis')?.disasterSwitch === 'on', 15_000);
    const redisCalls = sidecar.callsFor('state/redis');
    assert.deepEqual(
      redisCalls.slice(1).map((c) => c.code),
      ['UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE', 'OK'],
    );
    await agent.waitForLog((l) => l.message === 'applied' && l.component === 'state/redis' && Number(l.attempts) === 4, 5_000, 'applied after 4 attempts');
  });

  it('a restarted (empty) sidecar gets the full desired set again without any Apollo release', async () => {
    const { sidecar, http } = await sandbox();
    await sidecar.waitFor((s) => s.calls.length === 3, 10_000);
    await sidecar.restart();
    assert.equal(sidecar.current('state/redis'), undefined, 'the restarted fake knows nothing');
    await sidecar.waitFor((s) => ['state/redis', 'lock/redis', 'sequencer/redis'].every((id) => s.current(id)), 15_000);
    assert.deepEqual(sidecar.current('state/redis'), { redisHost: '10.0.0.1:6379', disasterSwitch: 'off' });
    await waitUntil(async () => (await readyz(http)).status === 200, 5_000, 'ready again');
  });

  it('readyz is 503 with the state of each component while no sidecar answers; healthz stays 200', async () => {
    const sidecarFirst = await startFakeLayotto();
    await sidecarFirst.close();
    // Nothing listens at the address: the agent cannot be ready.
    const apollo = await startFakeApollo({ appId: APP_ID });
    onCleanup(() => apollo.close());
    apollo.publish('application', BASE);
    const stateDir = await tempDir('asa-e2e-');
    const agent = startAgent(runArgs({ configService: apollo.url, appId: APP_ID, sidecar: sidecarFirst.address, stateDir }));
    onCleanup(() => agent.stop('SIGKILL'));
    const http = String((await agent.waitForLog((l) => l.message === 'agent started', 10_000)).http);
    await waitUntil(async () => Object.keys((await readyz(http)).body.components ?? {}).length === 3, 5_000, 'components listed');
    const notReady = await readyz(http);
    assert.equal(notReady.status, 503);
    assert.equal(notReady.body.ready, false);
    assert.equal(notReady.body.components['state/redis']?.state !== 'applied', true);
    assert.equal((await fetch(`http://${http}/healthz`)).status, 200);
  });

  it('SIGTERM: stops polling, drains, flushes the ledger and exits 0 within 5 s', async () => {
    const { sidecar, agent, stateDir } = await sandbox();
    await sidecar.waitFor((s) => s.calls.length === 3, 10_000);
    const started = Date.now();
    const code = await agent.stop('SIGTERM');
    assert.equal(code, 0);
    assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
    const ledger = JSON.parse(await readFile(join(stateDir, 'ledger.json'), 'utf8')) as { version: number; components: object };
    assert.equal(ledger.version, 1);
    assert.equal(Object.keys(ledger.components).length, 3);
    assert.ok(agent.logs().some((l) => l.message === 'agent stopped'));
  });
});
