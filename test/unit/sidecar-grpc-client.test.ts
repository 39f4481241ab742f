import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test, type TestContext } from 'node:test';
import { createLogger, silentLogger } from '../../src/observability/logger.js';
import { createMetrics, type AgentMetrics } from '../../src/observability/metrics.js';
import { GrpcSidecarClient, type GrpcSidecarClientOptions } from '../../src/sidecar/grpc-sidecar-client.js';
import { SidecarCallError } from '../../src/sidecar/sidecar-client.js';
import { startFakeLayotto, type FakeLayotto } from '../fakes/layotto-server.js';

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function gauge(metrics: AgentMetrics, name: 'sidecarConnected' | 'sidecarConnections'): Promise<number> {
  const metric = await metrics[name].get();
  return metric.values[0]?.value ?? 0;
}

async function rejection(promise: Promise<unknown>): Promise<SidecarCallError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof SidecarCallError, `expected SidecarCallError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the call to fail');
}

interface Harness {
  sidecar: FakeLayotto;
  client: GrpcSidecarClient;
  metrics: AgentMetrics;
  connections: () => number;
}

async function harness(
  t: TestContext,
  fake: Parameters<typeof startFakeLayotto>[0] = {},
  client: Partial<GrpcSidecarClientOptions> = {},
): Promise<Harness> {
  const sidecar = await startFakeLayotto(fake);
  const metrics = createMetrics();
  const created = new GrpcSidecarClient({
    address: sidecar.address,
    logger: silentLogger(),
    metrics,
    reconnectBackoffMs: { initial: 50, max: 200 },
    ...client,
  });
  let connections = 0;
  created.onConnected(() => {
    connections += 1;
  });
  t.after(async () => {
    created.close();
    await sidecar.close();
  });
  return { sidecar, client: created, metrics, connections: () => connections };
}

const redis = { kind: 'state', name: 'redis', metadata: { redisHost: 'localhost:6379', disasterSwitch: 'on' } };

describe('GrpcSidecarClient', () => {
  test('applies a component: the sidecar gets exactly kind, name and metadata', async (t) => {
    const { sidecar, client } = await harness(t);
    const desired = { ...redis, id: 'state/redis', hash: 'abc', releaseKeys: ['application@1'] };
    await client.apply(desired, { deadlineMs: 2000 });
    assert.deepEqual(sidecar.current('state/redis'), redis.metadata);
    const [call] = sidecar.callsFor('state/redis');
    assert.equal(call?.code, 'OK');
    assert.equal(sidecar.calls.length, 1);
  });

  test('narrows INVALID_ARGUMENT with Layotto message for an unknown component and empty metadata', async (t) => {
    const { client } = await harness(t, { components: ['state/redis'] });
    const unknown = await rejection(client.apply({ kind: 'lock', name: 'etcd', metadata: { a: '1' } }, { deadlineMs: 2000 }));
    assert.equal(unknown.code, 3);
    assert.equal(unknown.codeName, 'INVALID_ARGUMENT');
    assert.equal(unknown.details, 'component not found. kind: lock, name: etcd');
    const empty = await rejection(client.apply({ kind: 'state', name: 'redis', metadata: {} }, { deadlineMs: 2000 }));
    assert.equal(empty.codeName, 'INVALID_ARGUMENT');
    assert.equal(empty.details, 'field metadata is not configured');
  });

  test('carries injected failures through with their code and message', async (t) => {
    const { sidecar, client } = await harness(t);
    sidecar.failComponent('state/redis', 'UNKNOWN', 'dial tcp: connection refused');
    const failure = await rejection(client.apply(redis, { deadlineMs: 2000 }));
    assert.equal(failure.codeName, 'UNKNOWN');
    assert.equal(failure.details, 'dial tcp: connection refused');
    sidecar.healComponent('state/redis');
    await client.apply(redis, { deadlineMs: 2000 });
  });

  test('every call has a deadline: a hanging sidecar gives DEADLINE_EXCEEDED', async (t) => {
    const { sidecar, client } = await harness(t);
    sidecar.hang(true);
    const started = Date.now();
    const failure = await rejection(client.apply(redis, { deadlineMs: 150 }));
    assert.equal(failure.codeName, 'DEADLINE_EXCEEDED');
    assert.ok(Date.now() - started < 2000);
    sidecar.hang(false);
  });

  test('a slow sidecar within the deadline still applies', async (t) => {
    const { sidecar, client } = await harness(t);
    sidecar.setDelay(100);
    await client.apply(redis, { deadlineMs: 2000 });
    assert.deepEqual(sidecar.current('state/redis'), redis.metadata);
  });

  test('reports the first connection and each reconnection after a sidecar restart', async (t) => {
    const { sidecar, client, metrics, connections } = await harness(t);
    await waitUntil(() => connections() === 1, 3000, 'first connection');
    assert.equal(client.isConnected(), true);
    assert.equal(await gauge(metrics, 'sidecarConnected'), 1);

    await sidecar.restart();
    await waitUntil(() => connections() === 2, 3000, 'reconnection after restart');

    await sidecar.stop();
    await waitUntil(() => !client.isConnected(), 3000, 'loss noticed');
    assert.equal(await gauge(metrics, 'sidecarConnected'), 0);
    const down = await rejection(client.apply(redis, { deadlineMs: 1000 }));
    assert.equal(down.codeName, 'UNAVAILABLE');

    await sidecar.start();
    await waitUntil(() => connections() === 3, 3000, 'reconnection after start');
    assert.equal(await gauge(metrics, 'sidecarConnections'), 3);
    await client.apply(redis, { deadlineMs: 2000 });
    assert.equal(connections(), 3, 'a successful call after an explained outage is no extra reconnection');
  });

  test('a call that succeeds after UNAVAILABLE failures counts as a reconnection the watcher missed', async (t) => {
    const { sidecar, client, connections } = await harness(t);
    await waitUntil(() => connections() === 1, 3000, 'first connection');
    sidecar.failNext(1, 'UNAVAILABLE', 'upstream restarting');
    await rejection(client.apply(redis, { deadlineMs: 2000 }));
    await client.apply(redis, { deadlineMs: 2000 });
    await waitUntil(() => connections() === 2, 1000, 'reconnection from the call');
    await client.apply(redis, { deadlineMs: 2000 });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(connections(), 2);
  });

  test('the channel idle timer is not reported as a reconnection', async (t) => {
    const lines = new PassThrough();
    let log = '';
    lines.on('data', (chunk: Buffer) => {
      log += chunk.toString();
    });
    const logger = createLogger({ level: 'debug', stream: lines });
    const { client, metrics, connections } = await harness(t, {}, { logger, idleTimeoutMs: 1000 });
    await client.apply(redis, { deadlineMs: 2000 });
    await waitUntil(() => connections() === 1, 3000, 'first connection');
    const wentIdle = (): boolean => log.includes('sidecar channel idle') || log.includes('connection lost');
    await waitUntil(wentIdle, 5000, 'the channel to go idle');
    await waitUntil(() => client.isConnected(), 3000, 'redial');
    await client.apply(redis, { deadlineMs: 2000 });
    assert.equal(connections(), 1);
    assert.equal(await gauge(metrics, 'sidecarConnections'), 1);
    assert.ok(!log.includes('connection lost'), log);
  });

  test('close() releases the connection and stops reporting', async (t) => {
    const { sidecar, client, metrics, connections } = await harness(t);
    await client.apply(redis, { deadlineMs: 2000 });
    const sockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    assert.ok(sockets() > 0);
    client.close();
    assert.equal(client.isConnected(), false);
    assert.equal(await gauge(metrics, 'sidecarConnected'), 0);
    await waitUntil(() => sockets() === 0, 3000, 'sockets to close');
    const closed = await rejection(client.apply(redis, { deadlineMs: 1000 }));
    assert.equal(closed.codeName, 'CANCELLED');
    await sidecar.restart();
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(connections(), 1);
    assert.equal(sockets(), 0);
  });
});
