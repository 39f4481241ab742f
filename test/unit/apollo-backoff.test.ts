import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BackoffStreak, DEFAULT_BACKOFF, backoffDelay } from '../../src/sources/apollo/backoff.js';
import { sleep } from '../../src/sources/apollo/sleep.js';

test('backoff starts at about 1 s, doubles, and is capped at 120 s', () => {
  const top = () => 1;
  assert.equal(backoffDelay(0, DEFAULT_BACKOFF, top), 1000);
  assert.equal(backoffDelay(1, DEFAULT_BACKOFF, top), 2000);
  assert.equal(backoffDelay(2, DEFAULT_BACKOFF, top), 4000);
  assert.equal(backoffDelay(6, DEFAULT_BACKOFF, top), 64_000);
  assert.equal(backoffDelay(7, DEFAULT_BACKOFF, top), 120_000);
  assert.equal(backoffDelay(1000, DEFAULT_BACKOFF, top), 120_000);
});

test('backoff is jittered within [ceiling/2, ceiling] and never zero', () => {
  for (let attempt = 0; attempt < 12; attempt += 1) {
    const ceiling = Math.min(120_000, 1000 * 2 ** attempt);
    const low = backoffDelay(attempt, DEFAULT_BACKOFF, () => 0);
    const high = backoffDelay(attempt, DEFAULT_BACKOFF, () => 0.999999);
    assert.equal(low, ceiling / 2);
    assert.ok(high <= ceiling && high > ceiling * 0.99, `attempt ${attempt}: ${high}`);
  }
  const samples = new Set(Array.from({ length: 50 }, () => backoffDelay(5, DEFAULT_BACKOFF)));
  assert.ok(samples.size > 10, 'real randomness spreads the delays');
  for (const delay of samples) assert.ok(delay >= 16_000 && delay <= 32_000);
});

test('a streak grows with failures and starts over after a success', () => {
  const streak = new BackoffStreak({ initialMs: 100, maxMs: 1000 }, () => 1);
  assert.deepEqual([streak.fail(), streak.fail(), streak.fail(), streak.fail(), streak.fail()], [100, 200, 400, 800, 1000]);
  assert.equal(streak.failures, 5);
  streak.succeed();
  assert.equal(streak.failures, 0);
  assert.equal(streak.fail(), 100);
});

test('sleep ends early when its signal aborts', async () => {
  const controller = new AbortController();
  const started = Date.now();
  const waiting = sleep(60_000, controller.signal);
  controller.abort();
  await waiting;
  assert.ok(Date.now() - started < 1000);
  await sleep(10_000, controller.signal);
  assert.ok(Date.now() - started < 1000, 'an aborted signal does not wait at all');
});
