import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { GrpcSidecarClient } from '../../src/sidecar/grpc-sidecar-client.js';
import { startFakeLayotto } from '../fakes/layotto-server.js';

const clients: GrpcSidecarClient[] = [];
after(() => clients.forEach((client) => client.close()));

function clientFor(address: string): GrpcSidecarClient {
  const client = new GrpcSidecarClient({ address, logger: silentLogger(), metrics: createMetrics() });
  clients.push(client);
  return client;
}

describe('GrpcSidecarClient.reachable: what apply waits for before pushing', () => {
  it('false within 2 s when the connection is refused, whatever the timeout', async () => {
    const gone = await startFakeLayotto();
    await gone.close();
    const started = performance.now();
    assert.equal(await clientFor(gone.address).reachable(30_000), false);
    assert.ok(performance.now() - started < 2_000, `took ${Math.round(performance.now() - started)} ms`);
  });

  it('true for a sidecar that accepts, even one slow to answer calls', async () => {
    const sidecar = await startFakeLayotto();
    sidecar.hang(true);
    try {
      assert.equal(await clientFor(sidecar.address).reachable(30_000), true);
    } finally {
      await sidecar.close();
    }
  });
});
