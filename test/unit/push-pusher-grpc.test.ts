import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { componentId, type DesiredComponent } from '../../src/domain/component.js';
import { hashComponent } from '../../src/domain/hash.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { Pusher, type PushOutcome } from '../../src/push/pusher.js';
import { GrpcSidecarClient } from '../../src/sidecar/grpc-sidecar-client.js';
import { startFakeLayotto, type FakeLayotto, type FakeLayottoOptions } from '../fakes/layotto-server.js';

/** Polls with ref'd timers: the pusher's own sleeps are unref'd and would let the loop run dry. */
async function waitUntil(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function component(kind: string, name: string, metadata: Record<string, string>): DesiredComponent {
  const config = { kind, name, metadata };
  return { ...config, id: componentId(kind, name), hash: hashComponent(config), releaseKeys: [] };
}

interface Harness {
  sidecar: FakeLayotto;
  client: GrpcSidecarClient;
  pusher: Pusher;
  outcomes: PushOutcome[];
}

/** A generous call deadline by default, so that a loaded machine does not turn UNKNOWN into DEADLINE_EXCEEDED. */
async function harness(t: TestContext, fake: FakeLayottoOptions = {}, callDeadlineMs = 3000): Promise<Harness> {
  const sidecar = await startFakeLayotto(fake);
  const logger = silentLogger();
  const metrics = createMetrics();
  const client = new GrpcSidecarClient({ address: sidecar.address, logger, metrics, reconnectBackoffMs: { initial: 50, max: 200 } });
  const outcomes: PushOutcome[] = [];
  const pusher = new Pusher({
    client,
    logger,
    metrics,
    callDeadlineMs,
    minIntervalMs: 10,
    retry: { minDelayMs: 10, maxDelayMs: 100 },
    onOutcome: (outcome) => outcomes.push(outcome),
  });
  t.after(async () => {
    pusher.stop();
    client.close();
    await sidecar.close();
  });
  return { sidecar, client, pusher, outcomes };
}

describe('Pusher over gRPC against the fake Layotto', () => {
  test('applied, rejected with Layotto message, failed after 5 UNKNOWN', async (t) => {
    const { sidecar, pusher, outcomes } = await harness(t, { components: ['state/redis', 'lock/redis'] });
    sidecar.failComponent('lock/redis', 'UNKNOWN', 'redis: connection refused');
    pusher.submit({ component: component('state', 'redis', { redisHost: 'a:6379' }) });
    pusher.submit({ component: component('state', 'nope', { a: '1' }) });
    pusher.submit({ component: component('lock', 'redis', { redisHost: 'a:6379' }) });
    await waitUntil(() => outcomes.length === 3, 'three outcomes');
    const byId = new Map(outcomes.map((o) => [o.component.id, o]));
    assert.equal(byId.get('state/redis')?.result, 'applied');
    assert.deepEqual(sidecar.current('state/redis'), { redisHost: 'a:6379' });
    assert.deepEqual(
      [byId.get('state/nope')?.result, byId.get('state/nope')?.code, byId.get('state/nope')?.message],
      ['rejected', 'INVALID_ARGUMENT', 'component not found. kind: state, name: nope'],
    );
    assert.deepEqual([byId.get('lock/redis')?.result, byId.get('lock/redis')?.attempts], ['failed', 5]);
    assert.equal(sidecar.callsFor('lock/redis').length, 5);
  });

  test('a sidecar that is down is waited for; a hanging one hits the deadline and is retried', async (t) => {
    const { sidecar, pusher, outcomes } = await harness(t, {}, 300);
    await sidecar.stop();
    pusher.submit({ component: component('state', 'redis', { v: '1' }) });
    await waitUntil(() => pusher.status().get('state/redis')?.code === 'UNAVAILABLE', 'UNAVAILABLE retries');
    await sidecar.start();
    await waitUntil(() => outcomes.length === 1, 'applied once the sidecar is back');
    assert.equal(outcomes[0]?.result, 'applied');

    sidecar.hang(true);
    pusher.submit({ component: component('state', 'redis', { v: '2' }) });
    await waitUntil(() => pusher.status().get('state/redis')?.code === 'DEADLINE_EXCEEDED', 'a deadline');
    sidecar.hang(false);
    await waitUntil(() => outcomes.length === 2, 'applied after the hang');
    assert.equal(outcomes[1]?.result, 'applied');
    assert.deepEqual(sidecar.current('state/redis'), { v: '2' });
  });

  test('after a sidecar restart, reconnected() and a resubmit converge the new sidecar', async (t) => {
    const { sidecar, client, pusher, outcomes } = await harness(t, { components: ['state/redis'] });
    const desired = [component('state', 'redis', { v: '1' }), component('lock', 'redis', { v: '1' })];
    let connections = 0;
    client.onConnected(() => {
      connections += 1;
      pusher.reconnected();
      for (const c of desired) pusher.submit({ component: c });
    });
    await waitUntil(() => outcomes.length === 2, 'first sync');
    assert.equal(pusher.status().get('lock/redis')?.state, 'rejected');

    await sidecar.restart();
    await waitUntil(() => connections === 2 && outcomes.length === 4, 'resync after restart');
    assert.deepEqual(sidecar.current('state/redis'), { v: '1' });
    assert.equal(sidecar.callsFor('lock/redis').length, 2, 'the rejected version was tried again on the new sidecar');
  });
});
