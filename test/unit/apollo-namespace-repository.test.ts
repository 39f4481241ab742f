import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../src/observability/logger.js';
import type { FetchAnswer, FetchRequest, NamespaceFetcher } from '../../src/sources/apollo/namespace-fetcher.js';
import { parseNamespaceName } from '../../src/sources/apollo/namespace-name.js';
import { NamespaceRepository } from '../../src/sources/apollo/namespace-repository.js';

test('a notification that arrives while a fetch is failing cuts the backoff after it, and its messages ride on the retry', async () => {
  const requests: FetchRequest[] = [];
  let failFirst!: (error: Error) => void;
  const fetcher = {
    fetch: (request: FetchRequest): Promise<FetchAnswer> => {
      requests.push(request);
      if (requests.length === 1) return new Promise((_resolve, reject) => (failFirst = reject));
      return Promise.resolve({ kind: 'release', releaseKey: 'r1', configurations: { a: '1' }, contentHash: 'h1' });
    },
  } as unknown as NamespaceFetcher;
  const repository = new NamespaceRepository({
    name: parseNamespaceName('application'),
    appId: 'app',
    cluster: 'default',
    fetcher,
    // A 60 s backoff: only a wake makes the retry come within the test's time.
    backoff: { initialMs: 60_000, maxMs: 60_000 },
    logger: silentLogger(),
    onContent: () => undefined,
    random: () => 1,
  });
  const controller = new AbortController();
  const first = repository.sync(undefined, controller.signal);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(requests.length, 1);
  // Apollo announces a change while the first fetch is still out; that fetch then fails.
  const messages = { details: { 'app+default+application': 7 } };
  const notified = repository.sync(messages, controller.signal);
  failFirst(new Error('connection reset'));
  const started = Date.now();
  try {
    assert.equal(await first, 'changed');
    assert.ok(Date.now() - started < 5_000, 'the retry did not wait out the 60 s backoff');
    assert.deepEqual(requests[1]?.messages, messages, 'the messages that were never sent go with the retry');
    assert.equal(await notified, 'unchanged');
  } finally {
    controller.abort();
  }
});
