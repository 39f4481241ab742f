/**
 * The Agent in-process, through its `sources` and `sidecarClient` options: reconcile, resync,
 * reconnection, reload and the lifecycle, against the fake Layotto over real gRPC.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, it } from 'node:test';
import { Agent } from '../../src/app/agent.js';
import type { AgentConfig } from '../../src/config/agent-config.js';
import { ConfigError } from '../../src/domain/errors.js';
import type { PushOutcome } from '../../src/push/pusher.js';
import { GrpcSidecarClient } from '../../src/sidecar/grpc-sidecar-client.js';
import type { SidecarClient } from '../../src/sidecar/sidecar-client.js';
import { startFakeLayotto, type FakeLayotto } from '../fakes/layotto-server.js';
import { REDIS_RELEASE } from '../fixtures/namespaces.js';
import type { LogLine } from '../support/agent-process.js';
import { inProcessAgentConfig } from '../support/agent-config.js';
import { capturingLogger } from '../support/capturing-logger.js';
import { onCleanup, runCleanups, tempDir } from '../support/cleanups.js';
import { MemorySource } from '../support/memory-source.js';
import { waitUntil } from '../support/wait.js';

afterEach(runCleanups);

interface Rig {
  readonly agent: Agent;
  readonly source: MemorySource;
  readonly sidecar: FakeLayotto;
  readonly config: AgentConfig;
  readonly lines: LogLine[];
  readonly applied: PushOutcome[];
  readonly calls: (id: string) => number;
  readonly resyncs: () => Promise<number>;
  readonly detail: () => { sidecar: string; ledger?: { writable: boolean; error: string }; components: Record<string, { state: string; current: boolean; code?: string; message?: string }> };
}

async function rig(options: { components?: readonly string[]; config?: Partial<AgentConfig>; start?: boolean; items?: Record<string, string> } = {}): Promise<Rig> {
  const sidecar = await startFakeLayotto(options.components ? { components: options.components } : {});
  onCleanup(() => sidecar.close());
  const stateDir = await tempDir('asa-agent-');
  const source = new MemorySource();
  source.publish(options.items ?? REDIS_RELEASE);
  const config = inProcessAgentConfig({ sidecar: sidecar.address, stateDir }, options.config);
  const { logger, lines } = capturingLogger();
  const agent: Agent = new Agent({
    config,
    logger,
    sources: [source],
    sidecarClient: (address): SidecarClient =>
      new GrpcSidecarClient({ address, logger, metrics: agent.metrics, reconnectBackoffMs: { initial: 50, max: 200 } }),
    drainTimeoutMs: 1_000,
  });
  const applied: PushOutcome[] = [];
  agent.on('applied', (outcome) => applied.push(outcome));
  agent.on('error', () => undefined);
  onCleanup(() => agent.stop());
  if (options.start !== false) await agent.start();
  return {
    agent,
    source,
    sidecar,
    config,
    lines,
    applied,
    calls: (id) => sidecar.callsFor(id).length,
    resyncs: async () => (await agent.metrics.resyncs.get()).values.find((v) => v.labels.reason === 'periodic')?.value ?? 0,
    detail: () => agent.readiness().detail as never,
  };
}

const ready = (r: Rig): Promise<void> => waitUntil(() => r.agent.readiness().ready, 10_000, 'ready');

describe('Agent in-process', () => {
  it('reconcile: the first sync pushes every component; a release pushes only what it changed; the ledger records it', async () => {
    const r = await rig();
    await ready(r);
    assert.deepEqual([r.calls('state/redis'), r.calls('lock/redis'), r.calls('sequencer/redis')], [1, 1, 1]);
    r.source.publish({ ...REDIS_RELEASE, 'state.redis.disasterSwitch': 'on' });
    await waitUntil(() => r.sidecar.current('state/redis')?.disasterSwitch === 'on', 5_000, 'the flip applied');
    await ready(r);
    assert.deepEqual([r.calls('state/redis'), r.calls('lock/redis'), r.calls('sequencer/redis')], [2, 1, 1]);
    await waitUntil(async () => (await readFile(join(r.config.stateDir, 'ledger.json'), 'utf8').catch(() => '')).includes('"on"'), 5_000, 'the ledger written');
  });

  it('periodic resync over many intervals sends nothing applied, rejected, too large or given up on this connection', async () => {
    const r = await rig({
      components: ['state/redis', 'lock/redis', 'state/big'],
      config: { resyncIntervalMs: 20, maxPushBytes: 2_000 },
      items: { ...REDIS_RELEASE, 'state.big.blob': 'x'.repeat(3_000) },
    });
    r.sidecar.failComponent('lock/redis', 'UNKNOWN', 'redis down');
    await waitUntil(() => r.calls('lock/redis') === 5, 15_000, 'lock/redis given up after 5 tries');
    const start = await r.resyncs();
    await waitUntil(async () => (await r.resyncs()) >= start + 15, 10_000, '15 periodic resyncs');
    assert.deepEqual(
      ['state/redis', 'sequencer/redis', 'lock/redis', 'state/big'].map((id) => [id, r.calls(id)]),
      [
        ['state/redis', 1],
        ['sequencer/redis', 1],
        ['lock/redis', 5],
        ['state/big', 0],
      ],
    );
    const { components } = r.detail();
    assert.deepEqual(components['sequencer/redis'], {
      state: 'rejected',
      current: false,
      code: 'INVALID_ARGUMENT',
      message: 'component not found. kind: sequencer, name: redis',
    });
    assert.equal(components['lock/redis']?.state, 'failed');
    assert.deepEqual(components['state/big'], {
      state: 'rejected',
      current: false,
      code: 'RESOURCE_EXHAUSTED',
      message: 'state/big: the encoded ApplyConfiguration request is 3027 bytes, over --max-push-bytes (2000), so it is not sent',
    });
    assert.equal(r.agent.readiness().ready, true, 'every component has an answer');
    const warned = r.lines.filter((l) => l.level === 'warn' && l.component === 'state/big');
    assert.equal(warned.length, 1, 'the too large component is warned about once');
  });

  it('a sidecar restart re-sends the whole desired set once, the rejected and given-up versions too', async () => {
    const r = await rig({ components: ['state/redis', 'lock/redis'], config: { resyncIntervalMs: 20 } });
    r.sidecar.failComponent('lock/redis', 'UNKNOWN', 'redis down');
    await waitUntil(() => r.calls('lock/redis') === 5 && r.agent.readiness().ready, 15_000, 'first sync settled');
    r.sidecar.healComponent('lock/redis');
    await r.sidecar.restart();
    await waitUntil(() => r.sidecar.current('lock/redis') !== undefined && r.sidecar.current('state/redis') !== undefined, 10_000, 'converged');
    await waitUntil(() => r.calls('sequencer/redis') === 2, 5_000, 'the rejected one asked again');
    await ready(r);
    const start = await r.resyncs();
    await waitUntil(async () => (await r.resyncs()) >= start + 10, 10_000, '10 periodic resyncs');
    assert.deepEqual([r.calls('state/redis'), r.calls('lock/redis'), r.calls('sequencer/redis')], [2, 6, 2]);
  });

  it('/readyz: components are not current while the sidecar is disconnected', async () => {
    const r = await rig();
    await ready(r);
    assert.equal(r.detail().components['state/redis']?.current, true);
    await r.sidecar.stop();
    await waitUntil(() => r.detail().sidecar === 'disconnected', 10_000, 'disconnected');
    assert.equal(r.agent.readiness().ready, false);
    assert.ok(Object.values(r.detail().components).every((c) => !c.current));
    await r.sidecar.start();
    await ready(r);
  });

  it('a ledger that cannot be written: one error line however many writes fail, shown in /readyz', async () => {
    const r = await rig();
    await ready(r);
    const ledger = join(r.config.stateDir, 'ledger.json');
    await waitUntil(async () => (await readFile(ledger, 'utf8').catch(() => '')).includes('state/redis'), 5_000, 'ledger written');
    // A directory where the file should be: every atomic rename over it fails, for root too.
    await rm(ledger);
    await mkdir(ledger);
    for (let version = 1; version <= 3; version += 1) {
      r.source.publish({ ...REDIS_RELEASE, 'state.redis.version': String(version) });
      await waitUntil(() => r.applied.filter((o) => o.component.id === 'state/redis').length === version + 1, 5_000, `version ${version}`);
    }
    await waitUntil(() => r.detail().ledger !== undefined, 5_000, 'the write failure shown');
    assert.equal(r.detail().ledger?.writable, false);
    assert.match(r.detail().ledger?.error ?? '', /ledger\.json/);
    await r.agent.stop();
    assert.equal(r.lines.filter((l) => l.level === 'error' && /ledger/.test(l.message)).length, 1);
    const failures = (await r.agent.metrics.stateWriteFailures.get()).values.find((v) => v.labels.file === 'ledger')?.value ?? 0;
    assert.ok(failures >= 2, `every failed write counted: ${failures}`);
  });

  it('start fails whole on a port in use; stop() after it does not throw', async () => {
    const busy = await listen();
    const port = (busy.address() as AddressInfo).port;
    const r = await rig({ start: false, config: { http: { host: '127.0.0.1', port } } });
    await assert.rejects(r.agent.start(), /EADDRINUSE/);
    await r.agent.stop();
    assert.equal(r.sidecar.calls.length, 0, 'nothing was pushed');
  });

  it('reload is all or nothing: an HTTP address that does not bind keeps the old config running whole', async () => {
    const r = await rig({ config: { http: { host: '127.0.0.1', port: 0 } } });
    await ready(r);
    const address = r.agent.httpAddress!;
    const busy = await listen();
    const busyPort = (busy.address() as AddressInfo).port;
    const next = { ...r.config, http: { host: '127.0.0.1', port: busyPort }, resyncIntervalMs: 20, sidecar: '127.0.0.1:1' };
    await assert.rejects(
      r.agent.reload(next),
      (error: unknown) => error instanceof ConfigError && error.message.includes(`cannot serve HTTP on 127.0.0.1:${busyPort}`),
    );
    assert.equal(r.agent.httpAddress, address);
    assert.equal(await statusOf(`http://${address}/healthz`), 200, 'the old health server still answers');
    assert.equal(await statusOf(`http://${address}/readyz`), 200, 'and still talks to the old sidecar');
    await sleep(100);
    assert.equal(await r.resyncs(), 0, 'the new resync interval was not taken either');

    // The same port on another host only binds once the old server is closed: moved, not refused.
    const port = Number(address.split(':')[1]);
    await r.agent.reload({ ...r.config, http: { host: '0.0.0.0', port } });
    assert.equal(r.agent.httpAddress, `0.0.0.0:${port}`);
    assert.equal(await statusOf(`http://127.0.0.1:${port}/healthz`), 200);
  });

  it('httpAddress still names where the agent served after stop(), instead of throwing', async () => {
    const r = await rig({ config: { http: { host: '127.0.0.1', port: 0 } } });
    await ready(r);
    const address = r.agent.httpAddress!;
    await r.agent.stop();
    assert.equal(r.agent.httpAddress, address);
  });

  it('stop() during a reload stops what the reload started (its sidecar client)', async () => {
    const sidecar = await startFakeLayotto();
    onCleanup(() => sidecar.close());
    const config = inProcessAgentConfig({ sidecar: sidecar.address, stateDir: await tempDir('asa-agent-') }, { http: { host: '127.0.0.1', port: 0 } });
    const source = new MemorySource();
    source.publish(REDIS_RELEASE);
    const { logger } = capturingLogger();
    const clients: { address: string; closed: boolean }[] = [];
    const agent: Agent = new Agent({
      config,
      logger,
      sources: [source],
      sidecarClient: (address): SidecarClient => {
        const client = new GrpcSidecarClient({ address, logger, metrics: agent.metrics, reconnectBackoffMs: { initial: 50, max: 200 } });
        const record = { address, closed: false };
        clients.push(record);
        const close = client.close.bind(client);
        client.close = () => {
          record.closed = true;
          close();
        };
        return client;
      },
      drainTimeoutMs: 1_000,
    });
    agent.on('error', () => undefined);
    onCleanup(() => agent.stop());
    await agent.start();
    const [host, port] = [sidecar.address.slice(0, sidecar.address.lastIndexOf(':')), sidecar.address.slice(sidecar.address.lastIndexOf(':') + 1)];
    const moved = `${host === '127.0.0.1' ? 'localhost' : '127.0.0.1'}:${port}`;
    // The reload waits for the new HTTP address to bind while stop() runs.
    const reloading = agent.reload({ ...config, sidecar: moved, http: { host: '0.0.0.0', port: 0 } });
    await agent.stop();
    await reloading.catch(() => undefined);
    assert.deepEqual(
      clients.map((client) => client.closed),
      clients.map(() => true),
      `every sidecar client closed: ${JSON.stringify(clients)}`,
    );
  });

  it('nothing is recorded or emitted after stop() returned, even when a call answers later', async () => {
    const r = await rig();
    await ready(r);
    const ledger = join(r.config.stateDir, 'ledger.json');
    await waitUntil(async () => (await readFile(ledger, 'utf8').catch(() => '')).includes('state/redis'), 5_000, 'ledger written');
    r.sidecar.setDelay(2_000);
    r.source.publish({ ...REDIS_RELEASE, 'state.redis.disasterSwitch': 'on' });
    await waitUntil(() => r.calls('state/redis') === 2, 5_000, 'the call on the wire');
    await r.agent.stop();
    const appliedBefore = r.applied.length;
    const written = await readFile(ledger, 'utf8');
    await waitUntil(() => r.sidecar.current('state/redis')?.disasterSwitch === 'on', 5_000, 'the sidecar answered');
    await sleep(100);
    assert.equal(r.applied.length, appliedBefore, 'no applied event after stop()');
    assert.equal(await readFile(ledger, 'utf8'), written, 'no ledger write after stop()');
  });
});

/** A GET on a connection of its own: a pooled one may be to a server that is gone. */
function statusOf(url: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode);
    }).on('error', reject);
  });
}

function listen(): Promise<Server> {
  const server = createServer();
  onCleanup(() => new Promise((resolve) => server.close(resolve)));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
