/**
 * Apollo faults through the real binary (CONTRACT.md sections 4, 6 and 7): a config service
 * that answers 500, resets connections, goes down and comes back, or answers garbage, and
 * releases that cannot be parsed. The agent must keep running, back off instead of spinning,
 * keep the last good config, count what it rejects and take the next good release.
 */
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { afterEach, describe, it } from 'node:test';
import { hashComponent } from '../../src/domain/hash.js';
import { startFakeApollo, type FakeApollo, type FakeFault, type RecordedRequest } from '../fakes/apollo-server.js';
import { startFakeLayotto, type FakeLayotto } from '../fakes/layotto-server.js';
import { runArgs, startAgent, type AgentProcess, type LogLine } from '../support/agent-process.js';
import { waitUntil } from '../support/wait.js';
import { componentsOf, onCleanup, runCleanups, tempDir } from '../support/cleanups.js';
import { REDIS_RELEASE as BASE } from '../fixtures/namespaces.js';

const APP_ID = 'faults-apollo';

interface Sandbox {
  apollo: FakeApollo;
  sidecar: FakeLayotto;
  agent: AgentProcess;
  stateDir: string;
  http: string;
}

afterEach(runCleanups);

function launch(apollo: FakeApollo, sidecar: FakeLayotto, stateDir: string, namespaces: readonly string[] = []): AgentProcess {
  const agent = startAgent(runArgs({ configService: apollo.url, appId: APP_ID, namespaces, sidecar: sidecar.address, stateDir }));
  onCleanup(() => agent.stop('SIGKILL'));
  return agent;
}

async function sandbox(
  options: { releases?: Readonly<Record<string, Readonly<Record<string, string>> | string>> } = {},
): Promise<Sandbox> {
  const apollo = await startFakeApollo({ appId: APP_ID });
  onCleanup(() => apollo.close());
  const sidecar = await startFakeLayotto();
  onCleanup(() => sidecar.close());
  const stateDir = await tempDir('asa-faults-apollo-');
  const releases = options.releases ?? { application: BASE };
  for (const [ns, release] of Object.entries(releases)) {
    if (typeof release === 'string') apollo.publishContent(ns, release);
    else apollo.publish(ns, release);
  }
  const agent = launch(apollo, sidecar, stateDir, options.releases ? Object.keys(releases) : []);
  const started = await agent.waitForLog((l) => l.message === 'agent started', 10_000, 'agent started');
  return { apollo, sidecar, agent, stateDir, http: String(started.http) };
}

async function converged(sidecar: FakeLayotto, expected: ReadonlyMap<string, Readonly<Record<string, string>>>, timeoutMs = 10_000): Promise<void> {
  await sidecar.waitFor((s) => [...expected].every(([id, metadata]) => isDeepStrictEqual(s.current(id), metadata)), timeoutMs);
}

const polling = (apollo: FakeApollo): Promise<void> => waitUntil(() => apollo.openPolls() === 1, 5_000, 'a held long-poll');

function waitApplied(agent: AgentProcess, id: string, metadata: Readonly<Record<string, string>>, timeoutMs = 10_000): Promise<LogLine> {
  const [kind = '', name = ''] = id.split('/');
  const hash = hashComponent({ kind, name, metadata });
  return agent.waitForLog((l) => l.message === 'applied' && l.component === id && l.hash === hash, timeoutMs, `${id} applied with ${JSON.stringify(metadata)}`);
}

async function metric(http: string, series: string): Promise<number | undefined> {
  const text = await (await fetch(`http://${http}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const rejectedTotal = (http: string, namespace: string): Promise<number | undefined> =>
  metric(http, `apollo_sidecar_agent_releases_rejected_total{namespace="${namespace}"}`);

const logTime = (line: LogLine): number => Date.parse(String(line.timestamp));

/** The Apollo client's "retrying after backoff" lines since `since`, each with the delay it chose. */
function backoffLogs(agent: AgentProcess, since: number): LogLine[] {
  return agent.logs().filter((l) => l.source === 'apollo' && typeof l.delayMs === 'number' && logTime(l) >= since - 5);
}

/**
 * CONTRACT.md section 7: backoff with jitter, 1 s doubling. The delays chosen grow (the third
 * at least 1.5 times the first, whatever the jitter) and the client really waits them out.
 */
function assertBackoff(lines: readonly LogLine[], measuredWaits: readonly number[]): void {
  const delays = lines.map((l) => Number(l.delayMs));
  assert.ok(delays.length >= 3, `three backoff decisions logged: ${delays.join(', ')}`);
  assert.ok(delays.every((ms) => ms >= 400), `no retry sooner than about a second: ${delays.join(', ')} ms`);
  assert.ok(delays[1]! >= delays[0]! && delays[2]! >= 1.5 * delays[0]!, `the delays grow: ${delays.join(', ')} ms`);
  measuredWaits.forEach((ms, i) =>
    assert.ok(ms >= delays[i]! - 50, `retry ${i + 1} waited ${ms} ms of the ${delays[i]} ms chosen`),
  );
}

/** No component may have been marked removed: a rejected release must not read as "every key gone". */
function assertNothingRemoved(agent: AgentProcess): void {
  assert.deepEqual(agent.logs().filter((l) => /no keys left/.test(l.message)), []);
}

describe('faults: Apollo', () => {
  const outages: [string, FakeFault][] = [
    ['answering 500', { mode: 'status', status: 500 }],
    ['resetting connections', { mode: 'reset' }],
  ];
  for (const [label, fault] of outages) {
    it(`Apollo ${label} for a while: the agent keeps running, backs off, then applies what was released`, async () => {
      const { apollo, sidecar, agent, http } = await sandbox();
      await converged(sidecar, componentsOf(BASE));
      await polling(apollo);
      const since = apollo.requests.length;
      const faultAt = Date.now();
      apollo.setFault(fault, { paths: 'all' });
      // Answers the held poll: the fetch it triggers and every poll after it hit the fault.
      const during = { ...BASE, 'state.redis.disasterSwitch': 'on' };
      apollo.publish('application', during);
      const failedPolls = (): RecordedRequest[] =>
        apollo.requests.slice(since).filter((r) => r.kind === 'notifications' && r.status !== 200);
      await waitUntil(() => failedPolls().length >= 2 && backoffLogs(agent, faultAt).length >= 3, 10_000, 'two failed long-polls');
      apollo.setFault(null);

      const window = apollo.requests.slice(since);
      assert.ok(window.length <= 6, `no tight loop: ${window.length} requests (${window.map((r) => `${r.kind}:${r.status}`).join(', ')})`);
      const notified = apollo.requests.find((r) => r.kind === 'notifications' && r.status === 200 && r.answeredAt! >= faultAt)!;
      const [first, second] = failedPolls();
      assertBackoff(backoffLogs(agent, faultAt), [first!.receivedAt - notified.answeredAt!, second!.receivedAt - first!.receivedAt]);
      assert.equal(sidecar.current('state/redis')?.disasterSwitch, 'off', 'nothing new was pushed during the outage');

      await waitApplied(agent, 'state/redis', componentsOf(during).get('state/redis')!, 10_000);
      await polling(apollo);
      const after = { ...during, 'lock.redis.redisHost': '10.0.0.2:6379' };
      apollo.publish('application', after);
      await waitApplied(agent, 'lock/redis', componentsOf(after).get('lock/redis')!);
      assert.equal(agent.child.exitCode, null);
      assert.equal((await fetch(`http://${http}/healthz`)).status, 200);
      assertNothingRemoved(agent);
    });
  }

  it('Apollo down and back on the same port: the agent keeps running, backs off, and applies a release made after recovery', async () => {
    const { apollo, sidecar, agent, http } = await sandbox();
    await converged(sidecar, componentsOf(BASE));
    await polling(apollo);
    const downAt = Date.now();
    await apollo.stop();
    await waitUntil(() => backoffLogs(agent, downAt).length >= 3, 15_000, 'three failed long-polls');
    const down = backoffLogs(agent, downAt);
    assertBackoff(down, down.slice(1).map((line, i) => logTime(line) - logTime(down[i]!)));
    assert.equal((await fetch(`http://${http}/healthz`)).status, 200, 'still running while Apollo is down');

    await apollo.start();
    const after = { ...BASE, 'state.redis.disasterSwitch': 'on' };
    apollo.publish('application', after);
    await waitApplied(agent, 'state/redis', componentsOf(after).get('state/redis')!, 15_000);
    assert.equal(agent.child.exitCode, null);
    assertNothingRemoved(agent);
  });

  it('started while Apollo is down: the local cache of an earlier run in the same --state-dir is pushed at start', async () => {
    const first = await sandbox();
    await converged(first.sidecar, componentsOf(BASE));
    assert.equal(await first.agent.stop('SIGTERM'), 0);
    await first.apollo.stop();

    const sidecar = await startFakeLayotto();
    onCleanup(() => sidecar.close());
    const agent = launch(first.apollo, sidecar, first.stateDir);
    await converged(sidecar, componentsOf(BASE));
    await agent.waitForLog((l) => /local cache/.test(l.message) && l.namespace === 'application', 5_000, 'the cache fallback logged');
    assert.ok(!agent.logs().some((l) => l.message === 'Apollo namespace updated'), 'nothing came from Apollo');

    await first.apollo.start();
    const after = { ...BASE, 'lock.redis.redisHost': '10.0.0.2:6379' };
    first.apollo.publish('application', after);
    await waitApplied(agent, 'lock/redis', componentsOf(after).get('lock/redis')!, 15_000);
  });

  for (const mode of ['malformed', 'wrongShape'] as const) {
    it(`a ${mode} /configs answer: that release is rejected whole and counted, the last good stays, a later good release is applied`, async () => {
      const { apollo, sidecar, agent, http } = await sandbox();
      await converged(sidecar, componentsOf(BASE));
      await polling(apollo);
      assert.equal(await rejectedTotal(http, 'application'), 0, 'present at 0 before the first rejection');
      const before = sidecar.calls.length;
      apollo.setFault({ mode }, { paths: 'configs', times: 1 });
      apollo.publish('application', { ...BASE, 'state.redis.disasterSwitch': 'on' });
      await agent.waitForLog((l) => l.level === 'error' && /release rejected/.test(l.message) && l.namespace === 'application', 10_000, 'the rejection');
      assert.equal(await rejectedTotal(http, 'application'), 1);

      await polling(apollo);
      const good = { ...BASE, 'lock.redis.redisHost': '10.0.0.2:6379' };
      apollo.publish('application', good);
      await waitApplied(agent, 'lock/redis', componentsOf(good).get('lock/redis')!);
      assert.deepEqual(
        sidecar.calls.slice(before).map((c) => [c.id, c.metadata]),
        [['lock/redis', componentsOf(good).get('lock/redis')]],
        'the rejected release pushed nothing; the later one pushed only its change',
      );
      assert.equal(sidecar.current('state/redis')?.disasterSwitch, 'off');
      assert.equal(await rejectedTotal(http, 'application'), 1);
      assertNothingRemoved(agent);
    });
  }
});
