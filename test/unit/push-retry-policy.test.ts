import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classifyFailure, DEFAULT_RETRY, runWithRetry, shouldRetry, type FailedAttempt, type RetryClass, type RetrySettings } from '../../src/push/retry-policy.js';
import { SidecarCallError } from '../../src/sidecar/sidecar-client.js';

const fast: RetrySettings = { minDelayMs: 1, maxDelayMs: 5, factor: 2, randomize: true, boundedMaxAttempts: 5 };

/**
 * Retry sleeps are unref'd, so a bare await would let the event loop run dry; this waits on a
 * ref'd deadline instead, which also bounds every wait.
 */
async function within<T>(promise: Promise<T>, timeoutMs = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not settled within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function failure(codeName: string, details = `${codeName} from the sidecar`): SidecarCallError {
  return new SidecarCallError(0, codeName, details);
}

describe('retry classification (CONTRACT.md section 6)', () => {
  const OVERSIZED = 'grpc: received message larger than max (5400089 vs. 4194304)';
  const BAD_UTF8 = 'grpc: error unmarshalling request: string field contains invalid UTF-8';
  const table: Array<[string, string | undefined, RetryClass]> = [
    ['UNAVAILABLE', undefined, 'transient'],
    ['DEADLINE_EXCEEDED', undefined, 'transient'],
    ['ABORTED', undefined, 'transient'],
    ['RESOURCE_EXHAUSTED', undefined, 'bounded'],
    ['RESOURCE_EXHAUSTED', OVERSIZED, 'rejected'],
    ['UNKNOWN', undefined, 'bounded'],
    ['INTERNAL', undefined, 'bounded'],
    ['INTERNAL', BAD_UTF8, 'rejected'],
    ['DATA_LOSS', undefined, 'bounded'],
    ['CANCELLED', undefined, 'bounded'],
    ['INVALID_ARGUMENT', undefined, 'rejected'],
    ['NOT_FOUND', undefined, 'rejected'],
    ['UNIMPLEMENTED', undefined, 'rejected'],
    ['PERMISSION_DENIED', undefined, 'rejected'],
    ['UNAUTHENTICATED', undefined, 'rejected'],
    ['FAILED_PRECONDITION', undefined, 'rejected'],
    ['OUT_OF_RANGE', undefined, 'rejected'],
    ['ALREADY_EXISTS', undefined, 'rejected'],
    ['SOMETHING_NEW', undefined, 'bounded'],
  ];
  for (const [code, details, expected] of table) {
    test(`${code}${details ? ` "${details}"` : ''} is ${expected}`, () => assert.equal(classifyFailure(failure(code, details)), expected));
  }

  test('transient classes retry without end, bounded ones up to 5 tries, rejected never', () => {
    assert.equal(shouldRetry('transient', 0, DEFAULT_RETRY), true);
    assert.equal(shouldRetry('bounded', 4, DEFAULT_RETRY), true);
    assert.equal(shouldRetry('bounded', 5, DEFAULT_RETRY), false);
    assert.equal(shouldRetry('rejected', 0, DEFAULT_RETRY), false);
  });

  test('defaults: exponential from 200 ms, capped at 10 s, with jitter', () => {
    assert.deepEqual(DEFAULT_RETRY, { minDelayMs: 200, maxDelayMs: 10_000, factor: 2, randomize: true, boundedMaxAttempts: 5 });
  });
});

describe('runWithRetry', () => {
  function run(codes: string[], signal = new AbortController().signal, settings = fast) {
    const attempts: FailedAttempt[] = [];
    let calls = 0;
    const result = runWithRetry(
      async () => {
        const code = codes[Math.min(calls, codes.length - 1)];
        calls += 1;
        if (code !== 'OK') throw failure(code ?? 'UNKNOWN');
      },
      { settings, signal, onFailedAttempt: (a) => attempts.push(a) },
    );
    return { result, attempts, calls: () => calls };
  }

  test('UNKNOWN is tried 5 times in total, then the last error surfaces', async () => {
    const { result, attempts, calls } = run(['UNKNOWN']);
    await assert.rejects(within(result), (error: unknown) => error instanceof SidecarCallError && error.codeName === 'UNKNOWN');
    assert.equal(calls(), 5);
    assert.deepEqual(
      attempts.map((a) => a.willRetry),
      [true, true, true, true, false],
    );
  });

  test('the first call is made before runWithRetry returns; retries back off from minDelayMs by factor', async () => {
    const startedAt: number[] = [];
    const codes = ['UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE', 'OK'];
    const result = runWithRetry(
      async () => {
        startedAt.push(performance.now());
        const code = codes[startedAt.length - 1] ?? 'OK';
        if (code !== 'OK') throw failure(code);
      },
      { settings: { ...fast, minDelayMs: 30, maxDelayMs: 1000, randomize: false }, signal: new AbortController().signal, onFailedAttempt: () => {} },
    );
    assert.equal(startedAt.length, 1, 'the first attempt runs synchronously');
    await within(result);
    const gaps = startedAt.slice(1).map((at, index) => at - (startedAt[index] ?? at));
    assert.equal(gaps.length, 3);
    // Timers may fire up to a millisecond early on the event loop's cached clock.
    gaps.forEach((gap, index) => assert.ok(gap >= 30 * 2 ** index - 2, `retry ${index + 1} after ${gap.toFixed(1)} ms`));
  });

  test('transient failures before an UNKNOWN do not use up its budget', async () => {
    const { result, calls } = run(['UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE', 'UNKNOWN', 'OK']);
    await within(result);
    assert.equal(calls(), 7);
  });

  test('RESOURCE_EXHAUSTED and INTERNAL are tried 5 times; an oversized message once', async () => {
    for (const code of ['RESOURCE_EXHAUSTED', 'INTERNAL']) {
      const { result, calls } = run([code]);
      await assert.rejects(within(result), (error: unknown) => error instanceof SidecarCallError && error.codeName === code);
      assert.equal(calls(), 5, code);
    }
    let calls = 0;
    const oversized = runWithRetry(
      async () => {
        calls += 1;
        throw failure('RESOURCE_EXHAUSTED', 'grpc: received message larger than max (5400089 vs. 4194304)');
      },
      { settings: fast, signal: new AbortController().signal, onFailedAttempt: () => {} },
    );
    await assert.rejects(within(oversized), (error: unknown) => error instanceof SidecarCallError && error.codeName === 'RESOURCE_EXHAUSTED');
    assert.equal(calls, 1);
  });

  test('transient codes keep retrying until success', async () => {
    const codes = [...Array<string>(12).fill('UNAVAILABLE'), 'DEADLINE_EXCEEDED', 'ABORTED', 'OK'];
    const { result, calls } = run(codes);
    await within(result);
    assert.equal(calls(), codes.length);
  });

  test('a rejected code is tried once (AbortError) and surfaces as the SidecarCallError', async () => {
    const { result, attempts, calls } = run(['PERMISSION_DENIED']);
    await assert.rejects(within(result), (error: unknown) => error instanceof SidecarCallError && error.codeName === 'PERMISSION_DENIED');
    assert.equal(calls(), 1);
    assert.equal(attempts[0]?.willRetry, false);
  });

  test('errors that are not SidecarCallError are treated as UNKNOWN', async () => {
    let calls = 0;
    const result = runWithRetry(
      async () => {
        calls += 1;
        throw new TypeError('bug in a client');
      },
      { settings: fast, signal: new AbortController().signal, onFailedAttempt: () => {} },
    );
    await assert.rejects(
      within(result),
      (error: unknown) => error instanceof SidecarCallError && error.codeName === 'UNKNOWN' && error.details === 'bug in a client',
    );
    assert.equal(calls, 5);
  });

  test('aborting cancels a sleeping retry at once with the signal reason', async () => {
    const controller = new AbortController();
    const slow: RetrySettings = { ...fast, minDelayMs: 60_000, maxDelayMs: 60_000 };
    const { result, attempts, calls } = run(['UNAVAILABLE'], controller.signal, slow);
    // Past onFailedAttempt and a timer tick, p-retry is asleep.
    const deadline = Date.now() + 2000;
    while (attempts.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1));
    const started = Date.now();
    const reason = new Error('superseded');
    controller.abort(reason);
    await assert.rejects(within(result), (error) => error === reason);
    assert.ok(Date.now() - started < 1000);
    assert.equal(calls(), 1);
  });
});
