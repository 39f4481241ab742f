/**
 * `GET /status` and the `status` command against a running agent: an applied and a rejected
 * component side by side, the exit codes (0 in sync, 2 not, 1 unreachable), a sidecar outage.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { AgentStatus } from '../../src/app/status.js';
import { REDIS_RELEASE } from '../fixtures/namespaces.js';
import { runCli } from '../support/agent-process.js';
import { runCleanups } from '../support/cleanups.js';
import { startRunSandbox } from '../support/run-sandbox.js';
import { waitUntil } from '../support/wait.js';

afterEach(runCleanups);

const ready = async (http: string): Promise<boolean> => (await fetch(`http://${http}/readyz`)).status === 200;
const rowOf = (stdout: string, id: string): string => stdout.split('\n').find((line) => line.startsWith(`${id} `)) ?? `(no row for ${id})`;

describe('status', () => {
  it('shows an applied and a rejected component with hashes, releases and the error; exit 2; --output json says the same', async () => {
    // The sidecar knows state/redis and sequencer/redis; lock/redis is "component not found".
    const { http, apollo } = await startRunSandbox({ appId: 'orders', items: REDIS_RELEASE, components: ['state/redis', 'sequencer/redis'] });
    await waitUntil(() => ready(http), 10_000, '/readyz 200 (the rejection settles lock/redis)');
    const releaseKey = apollo.release('application')!.releaseKey;

    const text = await runCli(['status', '--agent', `http://${http}`]);
    assert.equal(text.code, 2, text.stderr);
    assert.match(text.stdout.split('\n')[0]!, /: NOT IN SYNC: 1 of 3 components not applied$/);
    assert.match(text.stdout.split('\n')[1]!, /^sidecar 127\.0\.0\.1:\d+ connected$/);

    const json = await runCli(['status', '--agent', http, '--output', 'json']);
    assert.equal(json.code, 2, json.stderr);
    const status = JSON.parse(json.stdout) as AgentStatus;
    const byId = new Map(status.components.map((c) => [c.id, c]));
    const redis = byId.get('state/redis')!;
    assert.equal(redis.state, 'applied');
    assert.equal(redis.inSync, true);
    assert.equal(redis.appliedHash, redis.desiredHash);
    assert.deepEqual(redis.releases, [{ namespace: 'application', releaseKey }]);
    const lock = byId.get('lock/redis')!;
    assert.deepEqual([lock.state, lock.inSync, lock.appliedHash], ['rejected', false, undefined]);
    assert.deepEqual(lock.error, { code: 'INVALID_ARGUMENT', message: 'component not found. kind: lock, name: redis' });

    assert.deepEqual(
      status.sources.map((s) => [s.sourceId, s.namespace, s.releaseKey, s.failing, s.origin]),
      [['apollo', 'application', releaseKey, false, 'apollo']],
    );
    assert.match(text.stdout, new RegExp(`^apollo\\s+application\\s+${releaseKey}\\s+\\d{4}-\\d\\d-\\d\\dT\\S+\\s+apollo\\s+ok$`, 'm'), 'one line per source namespace');

    const hash = (h: string | undefined): string => h!.slice(0, 12);
    assert.match(rowOf(text.stdout, 'state/redis'), new RegExp(`^state/redis\\s+applied\\s+${hash(redis.desiredHash)}\\s+${hash(redis.desiredHash)}\\s+\\d{4}-\\d\\d-\\d\\dT\\S+\\s+application@${releaseKey}\\s+-$`));
    assert.match(
      rowOf(text.stdout, 'lock/redis'),
      new RegExp(`^lock/redis\\s+rejected\\s+${hash(lock.desiredHash)}\\s+-\\s+-\\s+application@${releaseKey}\\s+INVALID_ARGUMENT: component not found. kind: lock, name: redis$`),
    );
  });

  it('exit 0 in sync; 2 with the components pending while the sidecar is down; 1 once the agent is gone', async () => {
    const { http, sidecar, agent } = await startRunSandbox({ appId: 'orders', items: REDIS_RELEASE });
    await waitUntil(() => ready(http), 10_000, '/readyz 200');
    const synced = await runCli(['status', '--agent', http]);
    assert.equal(synced.code, 0, synced.stdout + synced.stderr);
    assert.match(synced.stdout.split('\n')[0]!, /: in sync \(3 components\)$/);

    await sidecar.stop();
    let down = { code: -1, stdout: '', stderr: '' };
    await waitUntil(async () => (down = await runCli(['status', '--agent', http])).code === 2, 10_000, 'status to see the sidecar down');
    assert.match(down.stdout.split('\n')[1]!, / DISCONNECTED$/);
    // Nothing is confirmed on a connection that is gone: pending, while the ledger still says what a sidecar last accepted.
    const redis = /^state\/redis\s+(\S+)\s+(\S+)\s+(\S+)/.exec(rowOf(down.stdout, 'state/redis'));
    assert.deepEqual([redis?.[1], redis?.[2]], ['pending', redis?.[3]]);

    assert.equal(await agent.stop('SIGTERM'), 0);
    const gone = await runCli(['status', '--agent', http]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, new RegExp(`^error: cannot reach the agent at http://${http.replace(/\./g, '\\.')}: .+; is \`run\` serving --http there\\?\\n$`));
    assert.equal(gone.stdout, '');
  });
});
