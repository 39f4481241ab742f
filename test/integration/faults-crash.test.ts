/**
 * Crashes, corrupt state and shutdown through the real binary (CONTRACT.md sections 6 and 8):
 * SIGKILL in the middle of a push, a corrupt ledger at start, SIGTERM while a push is slow or
 * hung, and a second signal during the drain.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterEach, describe, it } from 'node:test';
import { hashComponent } from '../../src/domain/hash.js';
import { startFakeApollo, type FakeApollo } from '../fakes/apollo-server.js';
import { startFakeLayotto, type FakeLayotto } from '../fakes/layotto-server.js';
import { runArgs, startAgent, type AgentProcess } from '../support/agent-process.js';
import { waitUntil } from '../support/wait.js';
import { componentsOf, onCleanup, runCleanups, tempDir } from '../support/cleanups.js';
import { REDIS_RELEASE as BASE } from '../fixtures/namespaces.js';

const APP_ID = 'faults-crash';

interface LedgerFile {
  version: number;
  components: Record<string, { kind: string; name: string; metadata: Record<string, string>; hash: string; status: string }>;
}

afterEach(runCleanups);

async function fakes(items: Readonly<Record<string, string>> = BASE): Promise<{ apollo: FakeApollo; sidecar: FakeLayotto; stateDir: string }> {
  const apollo = await startFakeApollo({ appId: APP_ID });
  onCleanup(() => apollo.close());
  const sidecar = await startFakeLayotto();
  onCleanup(() => sidecar.close());
  const stateDir = await tempDir('asa-faults-crash-');
  apollo.publish('application', items);
  return { apollo, sidecar, stateDir };
}

async function launch(apollo: FakeApollo, sidecar: FakeLayotto, stateDir: string): Promise<{ agent: AgentProcess; http: string }> {
  const agent = startAgent(runArgs({ configService: apollo.url, appId: APP_ID, sidecar: sidecar.address, stateDir }));
  onCleanup(() => agent.stop('SIGKILL'));
  const started = await agent.waitForLog((l) => l.message === 'agent started', 10_000, 'agent started');
  return { agent, http: String(started.http) };
}

const hashOf = (id: string, metadata: Readonly<Record<string, string>>): string => {
  const [kind = '', name = ''] = id.split('/');
  return hashComponent({ kind, name, metadata });
};

async function converged(sidecar: FakeLayotto, items: Readonly<Record<string, string>>, timeoutMs = 10_000): Promise<void> {
  const expected = componentsOf(items);
  await sidecar.waitFor((s) => [...expected].every(([id, metadata]) => isDeepStrictEqual(s.current(id), metadata)), timeoutMs);
}

/** Parses the ledger strictly: a torn or half-written file throws here. */
async function readLedger(stateDir: string): Promise<LedgerFile> {
  const ledger = JSON.parse(await readFile(join(stateDir, 'ledger.json'), 'utf8')) as LedgerFile;
  assert.equal(ledger.version, 1);
  for (const [id, entry] of Object.entries(ledger.components)) {
    assert.equal(entry.hash, hashOf(id, entry.metadata), `${id}: the recorded hash matches the recorded metadata`);
  }
  return ledger;
}

async function ledgerHas(stateDir: string, items: Readonly<Record<string, string>>): Promise<boolean> {
  try {
    const ledger = await readLedger(stateDir);
    return [...componentsOf(items)].every(([id, metadata]) => isDeepStrictEqual(ledger.components[id]?.metadata, metadata));
  } catch {
    return false;
  }
}

async function readyz(http: string): Promise<number> {
  return (await fetch(`http://${http}/readyz`)).status;
}

const polling = (apollo: FakeApollo): Promise<void> => waitUntil(() => apollo.openPolls() === 1, 5_000, 'a held long-poll');

describe('faults: crashes, corrupt state and shutdown', () => {
  it('SIGKILL mid-push: ledger.json is valid, the restarted agent pushes the full desired set and converges', async () => {
    const COMPONENTS = 24;
    const DELAY_MS = 300;
    const items = (host: string): Record<string, string> =>
      Object.fromEntries(Array.from({ length: COMPONENTS }, (_, i) => [`state.c${i}.redisHost`, host]));
    const v1 = items('10.0.0.1:6379');
    const v2 = items('10.0.0.2:6379');
    const { apollo, sidecar, stateDir } = await fakes(v1);
    const { agent } = await launch(apollo, sidecar, stateDir);
    await converged(sidecar, v1);
    await waitUntil(() => ledgerHas(stateDir, v1), 5_000, 'the first ledger on disk');
    await polling(apollo);

    // A few components keep failing (retried, transient): whatever the pusher's concurrency,
    // some of the release is still out when the agent is killed.
    const stuck = Array.from({ length: 6 }, (_, i) => `state/c${COMPONENTS - 1 - i}`);
    for (const id of stuck) sidecar.failComponent(id, 'UNAVAILABLE', 'not yet');
    sidecar.setDelay(DELAY_MS);
    apollo.publish('application', v2);
    const newHashes = new Set([...componentsOf(v2)].map(([id, metadata]) => hashOf(id, metadata)));
    const appliedV2 = (): number => agent.logs().filter((l) => l.message === 'applied' && newHashes.has(String(l.hash))).length;
    // Kill right after the first answers come back, while the ledger is being written and other calls are still out.
    await waitUntil(() => appliedV2() > 0, 10_000, 'the first component of the new release applied');
    assert.equal(await agent.stop('SIGKILL'), 'SIGKILL');
    assert.ok(appliedV2() < COMPONENTS, `killed mid-push: ${appliedV2()} of ${COMPONENTS} applied`);

    const ledger = await readLedger(stateDir);
    for (const [id, entry] of Object.entries(ledger.components)) {
      const known = [componentsOf(v1).get(id), componentsOf(v2).get(id)];
      assert.ok(known.some((metadata) => isDeepStrictEqual(metadata, entry.metadata)), `${id}: a config that was really sent`);
    }
    assert.equal(Object.keys(ledger.components).length, COMPONENTS);

    sidecar.setDelay(0);
    for (const id of stuck) sidecar.healComponent(id);
    const restartedAt = sidecar.calls.length;
    const { agent: restarted, http } = await launch(apollo, sidecar, stateDir);
    await converged(sidecar, v2);
    await sidecar.waitFor((s) => new Set(s.calls.slice(restartedAt).map((c) => c.id)).size === COMPONENTS, 10_000);
    assert.ok(
      sidecar.calls.slice(restartedAt).every((c) => c.code === 'OK' && isDeepStrictEqual(c.metadata, componentsOf(v2).get(c.id))),
      'the restarted agent pushes only the current config',
    );
    await waitUntil(async () => (await readyz(http)) === 200, 5_000, '/readyz 200');
    await waitUntil(() => ledgerHas(stateDir, v2), 5_000, 'the ledger to record the new release');
    assert.equal(restarted.child.exitCode, null);
  });

  it('a corrupt ledger.json at start is set aside as ledger.json.corrupt-* with a warning; the agent runs and writes a new one', async () => {
    const { apollo, sidecar, stateDir } = await fakes();
    const torn = '{"version": 1, "components": {"state/redis": {"kind": "sta';
    await writeFile(join(stateDir, 'ledger.json'), torn, { mode: 0o600 });
    const { agent, http } = await launch(apollo, sidecar, stateDir);
    const warning = await agent.waitForLog((l) => l.level === 'warn' && /ledger/.test(l.message), 5_000, 'the ledger warning');
    const aside = (await readdir(stateDir)).filter((name) => name.startsWith('ledger.json.corrupt-'));
    assert.equal(aside.length, 1, `set aside: ${aside.join(', ')}`);
    assert.equal(await readFile(join(stateDir, aside[0]!), 'utf8'), torn, 'the corrupt file is kept as it was');
    assert.equal(warning.setAside, join(stateDir, aside[0]!));

    await converged(sidecar, BASE);
    await waitUntil(async () => (await readyz(http)) === 200, 5_000, '/readyz 200');
    await waitUntil(() => ledgerHas(stateDir, BASE), 5_000, 'a new ledger');
    assert.equal(agent.child.exitCode, null);
  });

  it('SIGTERM during a slow push: the push finishes, the ledger records it, exit 0 within 5 s', async () => {
    const { apollo, sidecar, stateDir } = await fakes();
    const { agent } = await launch(apollo, sidecar, stateDir);
    await converged(sidecar, BASE);
    await waitUntil(() => ledgerHas(stateDir, BASE), 5_000, 'the first ledger on disk');
    await polling(apollo);
    sidecar.setDelay(2_000);
    const before = sidecar.calls.length;
    const next = { ...BASE, 'state.redis.disasterSwitch': 'on' };
    apollo.publish('application', next);
    await sidecar.waitFor((s) => s.calls.length > before, 5_000);

    const signalledAt = Date.now();
    const code = await agent.stop('SIGTERM');
    const took = Date.now() - signalledAt;
    assert.equal(code, 0);
    assert.ok(took < 5_000, `exited after ${took} ms`);
    assert.deepEqual(sidecar.current('state/redis'), componentsOf(next).get('state/redis'), 'the push in flight was finished');
    assert.ok(await ledgerHas(stateDir, next), 'the ledger was flushed with the finished push');
    assert.ok(agent.logs().some((l) => l.message === 'agent stopped' && l.drained === true));
  });

  it('SIGTERM while the sidecar hangs: the push is abandoned, exit 0 within ~5 s, the ledger keeps what was really applied', async () => {
    const { apollo, sidecar, stateDir } = await fakes();
    const { agent } = await launch(apollo, sidecar, stateDir);
    await converged(sidecar, BASE);
    await waitUntil(() => ledgerHas(stateDir, BASE), 5_000, 'the first ledger on disk');
    await polling(apollo);
    sidecar.hang(true);
    const before = sidecar.calls.length;
    apollo.publish('application', { ...BASE, 'state.redis.disasterSwitch': 'on' });
    await sidecar.waitFor((s) => s.calls.length > before, 5_000);

    const signalledAt = Date.now();
    const code = await agent.stop('SIGTERM', 10_000);
    const took = Date.now() - signalledAt;
    assert.equal(code, 0);
    assert.ok(took < 6_500, `exited after ${took} ms`);
    assert.ok(await ledgerHas(stateDir, BASE), 'the ledger still holds the last applied config, not the abandoned one');
    assert.ok(agent.logs().some((l) => l.message === 'agent stopped' && l.drained === false));
  });

  it('a second signal during the drain exits at once', async () => {
    const { apollo, sidecar, stateDir } = await fakes();
    const { agent } = await launch(apollo, sidecar, stateDir);
    await converged(sidecar, BASE);
    await polling(apollo);
    sidecar.hang(true);
    const before = sidecar.calls.length;
    apollo.publish('application', { ...BASE, 'state.redis.disasterSwitch': 'on' });
    await sidecar.waitFor((s) => s.calls.length > before, 5_000);

    agent.child.kill('SIGTERM');
    await agent.waitForLog((l) => l.message === 'stopping', 5_000, 'the drain to start');
    const signalledAt = Date.now();
    const code = await agent.stop('SIGINT', 10_000);
    const took = Date.now() - signalledAt;
    assert.equal(typeof code, 'number', `the agent exited by itself (${code})`);
    assert.ok(took < 1_500, `exited ${took} ms after the second signal`);
    assert.ok(!agent.logs().some((l) => l.message === 'agent stopped'), 'it did not wait for the drain');
  });
});
