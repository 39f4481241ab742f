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

/**
 * The long-poll's "retrying after backoff" lines since `since`, each with the delay it chose. The
 * poll and each namespace's fetch back off apart (one backoff per loop), so only the poll's are taken.
 */
function backoffLogs(agent: AgentProcess, since: number): LogLine[] {
  return agent.logs().filter((l) => l.message === 'Apollo long-poll failed; retrying after backoff' && logTime(l) >= since - 5);
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
      await waitUntil(() => failedPolls().length >= 3 && backoffLogs(agent, faultAt).length >= 3, 15_000, 'three failed long-polls');
      apollo.setFault(null);

      const window = apollo.requests.slice(since);
      // Two loops back off apart: the long-poll and the namespace's fetch.
      assert.ok(window.length <= 12, `no tight loop: ${window.length} requests (${window.map((r) => `${r.kind}:${r.status}`).join(', ')})`);
      // The poll announces and goes on; the failed polls after it are what backs off.
      const [first, second, third] = failedPolls();
      assertBackoff(backoffLogs(agent, faultAt), [second!.receivedAt - first!.receivedAt, third!.receivedAt - second!.receivedAt]);
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

  for (const mode of ['malformed', 'truncated', 'wrongShape'] as const) {
    it(`a release made while /configs answers ${mode} 200s is a transport fault: nothing applied, then applied within 5 s of recovery`, async (t) => {
      const { apollo, sidecar, agent, http } = await sandbox();
      await converged(sidecar, componentsOf(BASE));
      await polling(apollo);
      const before = sidecar.calls.length;
      const faultAt = Date.now();
      apollo.setFault({ mode }, { paths: 'configs' });
      const during = { ...BASE, 'state.redis.disasterSwitch': 'on' };
      apollo.publish('application', during);
      const retries = (): LogLine[] =>
        agent.logs().filter((l) => l.message === 'Apollo namespace could not be fetched; retrying after backoff' && logTime(l) >= faultAt - 5);
      await waitUntil(() => retries().length >= 2, 15_000, "two fetches of the faulty answer retried");
      assert.equal(sidecar.calls.length, before, 'nothing applied during the fault');
      assert.equal(await rejectedTotal(http, 'application'), 0, 'a transport fault is not a rejected release');
      const duringStatus = (await (await fetch(`http://${http}/status`)).json()) as { sources: { namespace: string; failing: boolean; origin: string; error?: string }[] };
      const [application] = duringStatus.sources;
      assert.deepEqual([application?.namespace, application?.failing, application?.origin], ['application', true, 'apollo']);
      assert.match(application?.error ?? '', /answered 200 with what Apollo does not send/);

      const cleared = Date.now();
      apollo.setFault(null);
      const applied = await waitApplied(agent, 'state/redis', componentsOf(during).get('state/redis')!, 5_000);
      t.diagnostic(`${mode}: applied ${logTime(applied) - cleared} ms after the fault cleared`);
      assert.ok(logTime(applied) - cleared < 5_000);
      assertNothingRemoved(agent);
    });
  }

  it('/configs redirected to another host: refused with an error naming the Location; that host\'s config is never applied', async () => {
    const { apollo, sidecar, agent } = await sandbox();
    await converged(sidecar, componentsOf(BASE));
    await polling(apollo);
    const other = await startFakeApollo({ appId: APP_ID });
    onCleanup(() => other.close());
    other.publish('application', { ...BASE, 'state.redis.redisHost': 'evil:6379' });
    apollo.setFault({ mode: 'redirect', location: other.url }, { paths: 'configs' });
    apollo.publish('application', { ...BASE, 'lock.redis.redisHost': '10.0.0.2:6379' });
    const refused = await agent.waitForLog(
      (l) => l.message === 'Apollo namespace could not be fetched; retrying after backoff' && String(l.error).includes(`answered 302 to ${other.url}/configs/`),
      10_000,
      'the refused redirect',
    );
    assert.match(String(refused.error), /redirects are not followed/);
    assert.equal(other.requests.filter((r) => r.kind === 'configs').length, 0, 'the other host was never asked');
    assert.equal(sidecar.current('state/redis')?.redisHost, '10.0.0.1:6379');
  });

  it('a YAML release that does not parse is rejected and never cached: restarted with Apollo down, the last good one is pushed', async () => {
    const good = 'state:\n  redis:\n    redisHost: 10.0.0.1:6379\n';
    const first = await sandbox({ releases: { 'components.yaml': good } });
    await converged(first.sidecar, new Map([['state/redis', { redisHost: '10.0.0.1:6379' }]]));
    await polling(first.apollo);
    first.apollo.publishContent('components.yaml', 'state: [unclosed\n');
    await first.agent.waitForLog((l) => /release rejected/.test(l.message) && l.namespace === 'components.yaml', 10_000, 'the rejection');
    assert.equal(await first.agent.stop('SIGTERM'), 0);
    await first.apollo.stop();

    const sidecar = await startFakeLayotto();
    onCleanup(() => sidecar.close());
    const agent = launch(first.apollo, sidecar, first.stateDir, ['components.yaml']);
    await converged(sidecar, new Map([['state/redis', { redisHost: '10.0.0.1:6379' }]]));
    await agent.waitForLog((l) => /local cache/.test(l.message) && l.namespace === 'components.yaml', 5_000, 'the cache fallback');
    assertNothingRemoved(agent);
  });
});
