import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { componentId, type ComponentConfig, type DesiredComponent } from '../../src/domain/component.js';
import { hashComponent } from '../../src/domain/hash.js';
import { silentLogger, type Logger } from '../../src/observability/logger.js';
import { createMetrics, type AgentMetrics } from '../../src/observability/metrics.js';
import { Pusher, type PushOutcome, type PusherOptions } from '../../src/push/pusher.js';
import { SidecarCallError, type SidecarClient } from '../../src/sidecar/sidecar-client.js';
import type { LogLine } from '../support/agent-process.js';
import { capturingLogger } from '../support/capturing-logger.js';

/** Polls with ref'd timers: the pusher's own sleeps are unref'd and would let the loop run dry. */
async function waitUntil(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function component(kind: string, name: string, metadata: Record<string, string>): DesiredComponent {
  const config: ComponentConfig = { kind, name, metadata };
  return { ...config, id: componentId(kind, name), hash: hashComponent(config), releaseKeys: ['application@test'] };
}

const redis = (version: number | string): DesiredComponent => component('state', 'redis', { version: String(version) });

interface Call {
  readonly id: string;
  readonly version: string | undefined;
  readonly deadlineMs: number;
  readonly startedAt: number;
  endedAt?: number;
}

type Answer = 'OK' | string | { code: string; message?: string } | Promise<void>;

/**
 * A SidecarClient whose every call is answered by `script` (default OK): a status name, an
 * explicit failure, or a promise the test settles when it likes. It records calls and how
 * many were in flight, overall and per component.
 */
class ScriptedClient implements SidecarClient {
  readonly calls: Call[] = [];
  script: (config: ComponentConfig, call: Call) => Answer = () => 'OK';
  delayMs = 0;
  maxInFlight = 0;
  maxInFlightPerComponent = 0;
  private inFlight = 0;
  private readonly inFlightBy = new Map<string, number>();

  async apply(config: ComponentConfig, options: { deadlineMs: number }): Promise<void> {
    const id = componentId(config.kind, config.name);
    const call: Call = { id, version: config.metadata['version'], deadlineMs: options.deadlineMs, startedAt: performance.now() };
    this.calls.push(call);
    this.inFlight += 1;
    this.inFlightBy.set(id, (this.inFlightBy.get(id) ?? 0) + 1);
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.maxInFlightPerComponent = Math.max(this.maxInFlightPerComponent, this.inFlightBy.get(id) ?? 0);
    try {
      if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      const answer = this.script(config, call);
      if (answer instanceof Promise) return await answer;
      if (answer === 'OK') return;
      const { code, message } = typeof answer === 'string' ? { code: answer, message: undefined } : answer;
      throw new SidecarCallError(0, code, message ?? `${code} from the script`);
    } finally {
      this.inFlight -= 1;
      this.inFlightBy.set(id, (this.inFlightBy.get(id) ?? 1) - 1);
      call.endedAt = performance.now();
    }
  }

  callsFor(id: string): Call[] {
    return this.calls.filter((c) => c.id === id);
  }

  onConnected(): () => void {
    return () => {};
  }

  isConnected(): boolean {
    return true;
  }

  close(): void {}
}

function gate(): { promise: Promise<void>; open: () => void; fail: (code: string) => void } {
  let open!: () => void;
  let fail!: (code: string) => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = (code) => reject(new SidecarCallError(0, code, `${code} from the gate`));
  });
  return { promise, open, fail };
}

/** Version 1 of state/redis is submitted and its call held open by `first`; later versions answer OK. */
async function firstCallHeld(t: TestContext): Promise<Harness & { first: ReturnType<typeof gate> }> {
  const rig = harness(t);
  const first = gate();
  rig.client.script = (config) => (config.metadata['version'] === '1' ? first.promise : 'OK');
  rig.pusher.submit({ component: redis(1) });
  await waitUntil(() => rig.client.calls.length === 1, 'first call');
  return { ...rig, first };
}

interface Harness {
  pusher: Pusher;
  client: ScriptedClient;
  metrics: AgentMetrics;
  outcomes: PushOutcome[];
  outcomesFor: (id: string) => PushOutcome[];
}

const NO_JITTER = { minDelayMs: 5, maxDelayMs: 20, randomize: false };

function harness(t: TestContext, options: Partial<PusherOptions> = {}, logger: Logger = silentLogger()): Harness {
  const client = new ScriptedClient();
  const metrics = createMetrics();
  const outcomes: PushOutcome[] = [];
  const pusher = new Pusher({
    client,
    logger,
    metrics,
    onOutcome: (outcome) => outcomes.push(outcome),
    minIntervalMs: 0,
    callDeadlineMs: 1000,
    retry: NO_JITTER,
    ...options,
  });
  t.after(() => pusher.stop());
  return { pusher, client, metrics, outcomes, outcomesFor: (id) => outcomes.filter((o) => o.component.id === id) };
}

async function counter(metrics: AgentMetrics, result: string, name = 'redis'): Promise<number | undefined> {
  const { values } = await metrics.applies.get();
  return values.find((v) => v.labels.result === result && v.labels.name === name)?.value;
}

async function attempts(metrics: AgentMetrics, name = 'redis'): Promise<number | undefined> {
  const { values } = await metrics.applyAttempts.get();
  return values.find((v) => v.labels.name === name)?.value;
}

function captureLogs(): { logger: Logger; lines: () => LogLine[] } {
  const { logger, lines } = capturingLogger();
  return { logger, lines: () => lines };
}

describe('Pusher', () => {
  test('applies a component, reports the outcome, status and metrics', async (t) => {
    const { pusher, client, metrics, outcomes } = harness(t, { callDeadlineMs: 1234 });
    const observedAt = Date.now() - 20;
    pusher.submit({ component: redis(1), observedAt });
    assert.equal(client.calls.length, 1, 'the first call starts within submit(), not a turn later');
    assert.equal(pusher.isIdle(), false);
    await waitUntil(() => outcomes.length === 1, 'outcome');
    assert.equal(outcomes[0]?.result, 'applied');
    assert.equal(outcomes[0]?.attempts, 1);
    assert.equal(outcomes[0]?.observedAt, observedAt);
    assert.equal(client.calls[0]?.deadlineMs, 1234);
    assert.deepEqual(pusher.status().get('state/redis'), { state: 'applied', hash: redis(1).hash, attempts: 1, thisConnection: true });
    assert.equal(await counter(metrics, 'applied'), 1);
    assert.equal((await metrics.releaseToApply.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value, 1);
    assert.equal((await metrics.applyDuration.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value, 1);
    assert.ok(((await metrics.lastApplyTime.get()).values[0]?.value ?? 0) > 0);
    assert.equal(pusher.isIdle(), true);
  });

  test('per component one call in flight, in submit order; a newer submit replaces the queued one', async (t) => {
    const { pusher, client, outcomesFor, first } = await firstCallHeld(t);
    pusher.submit({ component: redis(2) });
    pusher.submit({ component: redis(3) });
    assert.deepEqual(pusher.status().get('state/redis'), { state: 'pending', hash: redis(3).hash, attempts: 0 });
    first.open();
    await waitUntil(() => outcomesFor('state/redis').length === 3, 'three outcomes');
    assert.deepEqual(
      client.calls.map((c) => c.version),
      ['1', '3'],
    );
    assert.equal(client.maxInFlightPerComponent, 1);
    assert.deepEqual(
      outcomesFor('state/redis').map((o) => [o.component.metadata['version'], o.result, o.attempts]),
      [
        ['2', 'superseded', 0],
        ['1', 'applied', 1],
        ['3', 'applied', 1],
      ],
    );
    const [one, three] = client.calls;
    assert.ok(one?.endedAt !== undefined && three !== undefined && three.startedAt >= one.endedAt);
  });

  test('a newer submit cancels the older one\'s retry sleep; the older is never sent again', async (t) => {
    const { pusher, client, outcomesFor } = harness(t, { retry: { minDelayMs: 60_000, maxDelayMs: 60_000, randomize: false } });
    client.script = (config) => (config.metadata['version'] === '1' ? 'UNAVAILABLE' : 'OK');
    pusher.submit({ component: redis(1) });
    await waitUntil(() => pusher.status().get('state/redis')?.code === 'UNAVAILABLE', 'first failure');
    assert.equal(pusher.status().get('state/redis')?.state, 'pushing');
    const started = Date.now();
    pusher.submit({ component: redis(2) });
    await waitUntil(() => outcomesFor('state/redis').length === 2, 'both outcomes');
    assert.ok(Date.now() - started < 2000, 'the 60 s sleep was cut short');
    assert.deepEqual(
      outcomesFor('state/redis').map((o) => [o.component.metadata['version'], o.result, o.attempts, o.code]),
      [
        ['1', 'superseded', 1, 'UNAVAILABLE'],
        ['2', 'applied', 1, undefined],
      ],
    );
    assert.deepEqual(
      client.calls.map((c) => c.version),
      ['1', '2'],
    );
  });

  test('a call in flight when a newer submit arrives finishes first, and is not retried if it fails', async (t) => {
    const { pusher, client, outcomesFor, first } = await firstCallHeld(t);
    pusher.submit({ component: redis(2) });
    first.fail('UNAVAILABLE');
    await waitUntil(() => outcomesFor('state/redis').length === 2, 'both outcomes');
    assert.deepEqual(
      client.calls.map((c) => c.version),
      ['1', '2'],
    );
    assert.equal(outcomesFor('state/redis')[0]?.result, 'superseded');
    assert.equal(pusher.status().get('state/redis')?.state, 'applied');
  });

  test('a submit equal to the one pending, in flight or applied on this connection is dropped; a reconnection lets it through', async (t) => {
    const { pusher, client, outcomes } = harness(t);
    const first = gate();
    client.script = (_config, call) => (call === client.calls[0] ? first.promise : 'OK');
    pusher.submit({ component: redis(1) });
    await waitUntil(() => client.calls.length === 1, 'first call');
    pusher.submit({ component: redis(1) });
    assert.equal(pusher.status().get('state/redis')?.state, 'pushing', 'in flight: dropped');
    pusher.submit({ component: redis(2) });
    pusher.submit({ component: redis(2) });
    first.open();
    await pusher.drain(2000);
    assert.deepEqual(
      client.calls.map((c) => c.version),
      ['1', '2'],
    );
    assert.deepEqual(
      outcomes.map((o) => [o.component.metadata['version'], o.result]),
      [
        ['1', 'applied'],
        ['2', 'applied'],
      ],
    );
    for (let resync = 0; resync < 3; resync += 1) pusher.submit({ component: redis(2) });
    assert.equal(pusher.isIdle(), true, 'a version applied on this connection is never sent again');
    assert.deepEqual(pusher.status().get('state/redis'), { state: 'applied', hash: redis(2).hash, attempts: 1, thisConnection: true });

    pusher.reconnected();
    assert.equal(pusher.status().get('state/redis')?.thisConnection, false);
    pusher.submit({ component: redis(2) });
    await waitUntil(() => client.calls.length === 3, 'sent again after a reconnection');
    await pusher.drain(2000);
    pusher.submit({ component: redis(2) });
    assert.equal(client.calls.length, 3, 'and once only');
  });

  test('a call that started before a reconnection does not count for the new connection', async (t) => {
    const { pusher, client, first } = await firstCallHeld(t);
    pusher.reconnected();
    pusher.submit({ component: redis(1) });
    first.open();
    await waitUntil(() => client.calls.length === 2, 'sent again on the new connection');
    assert.equal(await pusher.drain(2000), true);
    assert.deepEqual(
      client.calls.map((c) => c.version),
      ['1', '1'],
    );
  });

  test('a rejected version is quarantined: warned once, counted, shown, not retried until it changes', async (t) => {
    const { logger, lines } = captureLogs();
    const { pusher, client, metrics, outcomes } = harness(t, {}, logger);
    client.script = (config) =>
      config.metadata['version'] === '1' ? { code: 'INVALID_ARGUMENT', message: 'component not found. kind: state, name: redis' } : 'OK';
    pusher.submit({ component: redis(1) });
    await waitUntil(() => outcomes.length === 1, 'rejection');
    assert.deepEqual(
      [outcomes[0]?.result, outcomes[0]?.code, outcomes[0]?.message, outcomes[0]?.attempts],
      ['rejected', 'INVALID_ARGUMENT', 'component not found. kind: state, name: redis', 1],
    );
    assert.deepEqual(pusher.status().get('state/redis'), {
      state: 'rejected',
      hash: redis(1).hash,
      attempts: 1,
      code: 'INVALID_ARGUMENT',
      message: 'component not found. kind: state, name: redis',
      thisConnection: true,
    });
    assert.equal(await counter(metrics, 'rejected'), 1);
    assert.equal(await attempts(metrics), 1);

    pusher.submit({ component: redis(1) });
    assert.equal(pusher.isIdle(), true, 'the same rejected version is dropped');

    pusher.reconnected();
    pusher.submit({ component: redis(1) });
    await waitUntil(() => outcomes.length === 2, 'tried again on a new connection');
    pusher.submit({ component: redis(1) });
    assert.equal(client.calls.length, 2);
    assert.equal(await counter(metrics, 'rejected'), 2);
    const warnings = lines().filter((l) => l.level === 'warn' && String(l.message).includes('rejected'));
    assert.equal(warnings.length, 1, 'one warning per rejected version');
    assert.deepEqual(
      [warnings[0]?.component, warnings[0]?.code, warnings[0]?.details, warnings[0]?.attempt],
      ['state/redis', 'INVALID_ARGUMENT', 'component not found. kind: state, name: redis', 1],
    );

    pusher.submit({ component: redis(2) });
    await waitUntil(() => outcomes.length === 3, 'a newer version');
    assert.equal(outcomes[2]?.result, 'applied');
    assert.equal(pusher.status().get('state/redis')?.state, 'applied');
  });

  test('retries: transient codes until success, UNKNOWN 5 tries then failed', async (t) => {
    const { pusher, client, metrics, outcomes } = harness(t);
    let failures = 0;
    client.script = (config) => {
      if (config.name === 'broken') return { code: 'UNKNOWN', message: 'redis: connection refused' };
      failures += 1;
      return failures <= 3 ? 'UNAVAILABLE' : 'OK';
    };
    pusher.submit({ component: redis(1) });
    pusher.submit({ component: component('state', 'broken', { a: '1' }) });
    await waitUntil(() => outcomes.length === 2, 'both outcomes');
    const byName = new Map(outcomes.map((o) => [o.component.name, o]));
    assert.deepEqual([byName.get('redis')?.result, byName.get('redis')?.attempts], ['applied', 4]);
    assert.deepEqual(
      [byName.get('broken')?.result, byName.get('broken')?.attempts, byName.get('broken')?.code],
      ['failed', 5, 'UNKNOWN'],
    );
    assert.equal(client.callsFor('state/broken').length, 5);
    assert.deepEqual([await attempts(metrics, 'redis'), await attempts(metrics, 'broken')], [4, 5]);
    assert.deepEqual([await counter(metrics, 'applied', 'redis'), await counter(metrics, 'failed', 'broken')], [1, 1]);
    assert.equal(await counter(metrics, 'retry', 'redis'), undefined, 'retries are attempts, not outcomes');
    assert.equal(await counter(metrics, 'rejected', 'broken'), 0, 'every outcome of a pushed component exists from its first push');
    assert.equal(pusher.status().get('state/broken')?.state, 'failed');
    pusher.submit({ component: component('state', 'broken', { a: '1' }) });
    assert.equal(pusher.isIdle(), true, 'a version that gave up is not sent again on this connection');
    pusher.submit({ component: component('state', 'broken', { a: '2' }) });
    await waitUntil(() => client.callsFor('state/broken').length === 10, 'a changed version is tried again');
    pusher.reconnected();
    pusher.submit({ component: component('state', 'broken', { a: '2' }) });
    await waitUntil(() => client.callsFor('state/broken').length === 15, 'and so is one after a reconnection');
  });

  test('a component whose encoded request is over maxPushBytes is rejected without a call, once, naming it and its size; the others are pushed', async (t) => {
    const { logger, lines } = captureLogs();
    const { pusher, client, outcomes } = harness(t, { maxPushBytes: 1000 }, logger);
    const big = component('state', 'big', { value: 'x'.repeat(1000) });
    pusher.submit({ component: big });
    pusher.submit({ component: redis(1) });
    await waitUntil(() => outcomes.length === 2, 'both outcomes');
    assert.deepEqual(
      client.calls.map((c) => c.id),
      ['state/redis'],
    );
    const rejected = outcomes.find((o) => o.component.id === 'state/big');
    assert.deepEqual([rejected?.result, rejected?.attempts, rejected?.code], ['rejected', 0, 'RESOURCE_EXHAUSTED']);
    assert.equal(
      rejected?.message,
      'state/big: the encoded ApplyConfiguration request is 1028 bytes, over --max-push-bytes (1000), so it is not sent',
    );
    for (let resync = 0; resync < 3; resync += 1) pusher.submit({ component: big });
    assert.equal(outcomes.length, 2, 'not tried again until it changes');
    const warnings = lines().filter((l) => l.level === 'warn' && l.component === 'state/big');
    assert.deepEqual(
      warnings.map((l) => l.message),
      ['component too large; not sent until it changes or the sidecar reconnects'],
    );
    const fits = component('state', 'big', { value: 'x'.repeat(900) });
    pusher.submit({ component: fits });
    await waitUntil(() => outcomes.length === 3, 'a smaller version');
    assert.equal(outcomes[2]?.result, 'applied');
  });

  test('different components run concurrently, bounded globally', async (t) => {
    const { pusher, client, outcomes } = harness(t, { concurrency: 3 });
    client.delayMs = 15;
    for (let i = 0; i < 12; i += 1) pusher.submit({ component: component('state', `c${i}`, { a: '1' }) });
    await waitUntil(() => outcomes.length === 12, 'all applied');
    assert.equal(client.maxInFlight, 3);
    assert.ok(outcomes.every((o) => o.result === 'applied'));
    assert.deepEqual(
      client.calls.map((c) => c.id),
      Array.from({ length: 12 }, (_, i) => `state/c${i}`),
      'served first come, first served',
    );
  });

  test('a component retrying without pause does not starve others', async (t) => {
    const { pusher, client, outcomes } = harness(t, { concurrency: 1, retry: { minDelayMs: 1, maxDelayMs: 1 } });
    client.script = (config) => (config.name === 'flappy' ? 'UNAVAILABLE' : 'OK');
    pusher.submit({ component: component('state', 'flappy', { a: '1' }) });
    await waitUntil(() => client.callsFor('state/flappy').length > 5, 'flappy retrying');
    for (let i = 0; i < 5; i += 1) pusher.submit({ component: component('lock', `l${i}`, { a: '1' }) });
    await waitUntil(() => outcomes.length === 5, 'the others applied');
    assert.equal(client.maxInFlight, 1);
  });

  test('rate: leading edge at once, trailing push at the end of the interval', async (t) => {
    const { pusher, client } = harness(t, { minIntervalMs: 150 });
    const submitted = performance.now();
    pusher.submit({ component: redis(1) });
    await waitUntil(() => client.calls.length === 1, 'leading push');
    assert.ok((client.calls[0]?.startedAt ?? Infinity) - submitted < 100, 'a single release goes out at once');
    pusher.submit({ component: redis(2) });
    pusher.submit({ component: redis(3) });
    await waitUntil(() => client.calls.length === 2, 'trailing push');
    const [leading, trailing] = client.calls;
    assert.ok(leading && trailing && trailing.startedAt - leading.startedAt >= 149, 'not before the interval ended');
    assert.equal(trailing?.version, '3');
    await waitUntil(() => performance.now() - (trailing?.startedAt ?? 0) > 160, 'a quiet period');
    const quiet = performance.now();
    pusher.submit({ component: redis(4) });
    await waitUntil(() => client.calls.length === 3, 'push after quiet period');
    assert.ok((client.calls[2]?.startedAt ?? Infinity) - quiet < 100);
  });

  test('1000 releases of one component in a second: few pushes, the last one correct, one pending slot', async (t) => {
    const { pusher, client, outcomes } = harness(t, { minIntervalMs: 50 });
    client.delayMs = 1;
    const started = performance.now();
    for (let i = 1; i <= 1000; i += 1) {
      pusher.submit({ component: redis(i) });
      assert.ok(pusher.status().size === 1);
      // Pacing the load over about a second, as a burst of releases would arrive.
      if (i % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(await pusher.drain(5000), true);
    const elapsed = performance.now() - started;
    // At most one push per 50 ms interval (about 20 for a one-second burst), plus the leading one.
    assert.ok(client.calls.length <= Math.floor(elapsed / 50) + 1, `${client.calls.length} pushes in ${Math.round(elapsed)} ms`);
    assert.equal(client.calls.at(-1)?.version, '1000');
    assert.equal(outcomes.length, 1000, 'every accepted submit ends in one outcome');
    assert.equal(outcomes.filter((o) => o.result === 'applied').length, client.calls.length);
    const versions = client.calls.map((c) => Number(c.version));
    assert.deepEqual(versions, [...versions].sort((a, b) => a - b), 'never an older config after a newer one');
  });

  test('drain resolves true once idle, false at its timeout', async (t) => {
    const { pusher, client } = harness(t);
    assert.equal(await pusher.drain(10), true);
    const hold = gate();
    client.script = () => hold.promise;
    pusher.submit({ component: redis(1) });
    assert.equal(await pusher.drain(30), false);
    const draining = pusher.drain(2000);
    hold.open();
    assert.equal(await draining, true);
  });

  test('stop abandons pending work and retry sleeps at once; a call in flight ends on its own', async (t) => {
    const { pusher, client, outcomes } = harness(t, { retry: { minDelayMs: 60_000, maxDelayMs: 60_000, randomize: false } });
    const hold = gate();
    client.script = (config) => {
      if (config.name === 'redis') return hold.promise;
      return config.name === 'sleepy' ? 'UNAVAILABLE' : 'OK';
    };
    pusher.submit({ component: redis(1) });
    pusher.submit({ component: component('state', 'sleepy', { a: '1' }) });
    await waitUntil(() => client.calls.length === 2 && pusher.status().get('state/sleepy')?.code === 'UNAVAILABLE', 'both started');
    pusher.submit({ component: redis(2) });
    pusher.stop();
    await waitUntil(() => outcomes.length === 2, 'pending and sleeping abandoned');
    assert.deepEqual(
      outcomes.map((o) => [o.component.id, o.component.metadata['version'] ?? null, o.result]),
      [
        ['state/redis', '2', 'abandoned'],
        ['state/sleepy', null, 'abandoned'],
      ],
    );
    assert.equal(pusher.isIdle(), false, 'the call in flight is still running');
    pusher.submit({ component: redis(3) });
    hold.open();
    assert.equal(await pusher.drain(2000), true);
    assert.deepEqual(outcomes.at(-1)?.result, 'applied', 'a call that succeeded counts');
    assert.equal(client.calls.length, 2, 'nothing is sent after stop');
  });

  test('a zero retry delay is refused: it would spin without yielding', (t) => {
    assert.throws(() => harness(t, { retry: { minDelayMs: 0 } }), /minDelayMs must be at least 1/);
  });

  test('a throwing outcome listener is logged, not raised', async (t) => {
    const { logger, lines } = captureLogs();
    const client = new ScriptedClient();
    const pusher = new Pusher({
      client,
      logger,
      metrics: createMetrics(),
      minIntervalMs: 0,
      onOutcome: () => {
        throw new Error('listener bug');
      },
    });
    t.after(() => pusher.stop());
    pusher.submit({ component: redis(1) });
    pusher.submit({ component: redis(2) });
    assert.equal(await pusher.drain(2000), true);
    assert.deepEqual(
      client.calls.map((c) => c.version),
      ['1', '2'],
    );
    assert.equal(lines().filter((l) => l.level === 'error' && l.error === 'listener bug').length, 2);
  });
});
