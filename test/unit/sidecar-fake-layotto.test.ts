import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { GrpcSidecarClient } from '../../src/sidecar/grpc-sidecar-client.js';
import { encodedRequestBytes } from '../../src/sidecar/request-size.js';
import { SidecarCallError } from '../../src/sidecar/sidecar-client.js';
import { startFakeLayotto } from '../fakes/layotto-server.js';
import { lifecycleService } from '../support/lifecycle-proto.js';

async function codeOf(promise: Promise<void>): Promise<string> {
  return (await answerOf(promise)).code;
}

async function answerOf(promise: Promise<void>): Promise<{ code: string; details?: string }> {
  try {
    await promise;
    return { code: 'OK' };
  } catch (error) {
    assert.ok(error instanceof SidecarCallError);
    return { code: error.codeName, details: error.details };
  }
}

describe('fake Layotto', () => {
  test('records calls, forgets applied state on restart, keeps its port', async (t) => {
    const sidecar = await startFakeLayotto({ components: ['state/redis', 'lock/etcd'] });
    const client = new GrpcSidecarClient({ address: sidecar.address, logger: silentLogger(), metrics: createMetrics() });
    let connections = 0;
    client.onConnected(() => {
      connections += 1;
    });
    t.after(async () => {
      client.close();
      await sidecar.close();
    });
    const before = Date.now();
    await client.apply({ kind: 'state', name: 'redis', metadata: { a: '1' } }, { deadlineMs: 2000 });
    await client.apply({ kind: 'lock', name: 'etcd', metadata: { b: '2' } }, { deadlineMs: 2000 });
    assert.deepEqual(
      sidecar.calls.map((c) => [c.id, c.code]),
      [
        ['state/redis', 'OK'],
        ['lock/etcd', 'OK'],
      ],
    );
    assert.ok((sidecar.calls[0]?.receivedAt ?? 0) >= before);
    assert.deepEqual(sidecar.current('lock/etcd'), { b: '2' });

    const port = sidecar.port;
    await sidecar.restart();
    assert.equal(sidecar.port, port);
    assert.equal(sidecar.current('state/redis'), undefined);
    assert.equal(sidecar.calls.length, 2, 'calls survive a restart; clearCalls() forgets them');
    sidecar.clearCalls();
    await sidecar.waitFor(() => connections === 2, 3000);
    await client.apply({ kind: 'state', name: 'redis', metadata: { a: '3' } }, { deadlineMs: 2000 });
    assert.deepEqual(sidecar.current('state/redis'), { a: '3' });
    assert.equal(sidecar.calls.length, 1);
  });

  test('failNext fails any component the given number of times, in front of validation', async (t) => {
    const sidecar = await startFakeLayotto({ components: ['state/redis'] });
    const client = new GrpcSidecarClient({ address: sidecar.address, logger: silentLogger(), metrics: createMetrics() });
    t.after(async () => {
      client.close();
      await sidecar.close();
    });
    sidecar.failNext(2, 'RESOURCE_EXHAUSTED');
    const apply = (kind: string, name: string): Promise<void> => client.apply({ kind, name, metadata: { a: '1' } }, { deadlineMs: 2000 });
    assert.equal(await codeOf(apply('state', 'redis')), 'RESOURCE_EXHAUSTED');
    assert.equal(await codeOf(apply('lock', 'x')), 'RESOURCE_EXHAUSTED');
    assert.equal(await codeOf(apply('lock', 'x')), 'INVALID_ARGUMENT');
    assert.equal(await codeOf(apply('', 'x')), 'INVALID_ARGUMENT');
    assert.equal(sidecar.calls.at(-1)?.message, 'field kind is not configured');
    assert.equal(await codeOf(apply('state', 'redis')), 'OK');
  });

  test('refuses what grpc-go refuses before the handler, with its codes and messages, and records it', async (t) => {
    const sidecar = await startFakeLayotto();
    const client = new GrpcSidecarClient({ address: sidecar.address, logger: silentLogger(), metrics: createMetrics() });
    t.after(async () => {
      client.close();
      await sidecar.close();
    });
    const apply = (metadata: Record<string, string>): Promise<void> => client.apply({ kind: 'state', name: 'redis', metadata }, { deadlineMs: 10_000 });

    const oversized = { value: 'x'.repeat(5_400_000) };
    const size = encodedRequestBytes({ kind: 'state', name: 'redis', metadata: oversized });
    assert.deepEqual(await answerOf(apply(oversized)), {
      code: 'RESOURCE_EXHAUSTED',
      details: `grpc: received message larger than max (${size} vs. 4194304)`,
    });
    // Our encoder writes a lone surrogate as U+FFFD (Buffer's UTF-8); protobufjs writes it as
    // invalid UTF-8, as the first agent did: that is what grpc-go refuses.
    const raw = new grpc.Client(sidecar.address, grpc.credentials.createInsecure());
    t.after(() => raw.close());
    const { applyConfiguration } = lifecycleService();
    const applyRaw = (metadata: Record<string, string>): Promise<void> =>
      new Promise((resolve, reject) => {
        const request = { componentConfig: { kind: 'state', name: 'redis', metadata } };
        raw.makeUnaryRequest(applyConfiguration.path, applyConfiguration.requestSerialize, () => ({}), request, (error) =>
          error ? reject(new SidecarCallError(error.code, grpc.status[error.code] ?? 'UNKNOWN', error.details)) : resolve(),
        );
      });
    assert.deepEqual(await answerOf(applyRaw({ key: 'a\uD800b' })), {
      code: 'INTERNAL',
      details: 'grpc: error unmarshalling request: string field contains invalid UTF-8',
    });
    assert.deepEqual(await answerOf(applyRaw({ ['k\uDC00']: 'v' })), {
      code: 'INTERNAL',
      details: 'grpc: error unmarshalling request: string field contains invalid UTF-8',
    });
    const twoMiB = { value: 'é'.repeat(1024 * 1024), text: '开关 ✓ 🚀' };
    assert.equal(await codeOf(apply(twoMiB)), 'OK', 'one value of 2 MiB in a request under 4 MiB is taken');
    assert.deepEqual(sidecar.current('state/redis'), twoMiB);
    assert.deepEqual(
      sidecar.calls.map((c) => [c.id, c.code, c.bytes]),
      [
        ['state/redis', 'RESOURCE_EXHAUSTED', size],
        ['state/redis', 'INTERNAL', sidecar.calls[1]!.bytes],
        ['state/redis', 'INTERNAL', sidecar.calls[2]!.bytes],
        ['state/redis', 'OK', encodedRequestBytes({ kind: 'state', name: 'redis', metadata: twoMiB })],
      ],
    );
    const framing = encodedRequestBytes({ kind: 'state', name: 'redis', metadata: { value: 'x'.repeat(4_000_000) } }) - 4_000_000;
    assert.equal(await codeOf(apply({ value: 'x'.repeat(4 * 1024 * 1024 - framing) })), 'OK', 'exactly at the limit is taken');
    assert.equal(sidecar.calls.at(-1)?.bytes, 4 * 1024 * 1024);
  });

  test('waitFor rejects at its deadline with what it saw', async (t) => {
    const sidecar = await startFakeLayotto();
    t.after(() => sidecar.close());
    await assert.rejects(sidecar.waitFor((s) => s.calls.length > 0, 50), /not met within 50 ms \(calls: none\)/);
  });
});
