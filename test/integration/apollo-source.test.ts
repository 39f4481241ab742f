import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SourceError } from '../../src/domain/errors.js';
import { ApolloNotFoundError } from '../../src/sources/apollo/namespace-repository.js';
import type { SourceSnapshot } from '../../src/domain/snapshot.js';
import { createMetrics, type AgentMetrics } from '../../src/observability/metrics.js';
import { ApolloSource, type ApolloSourceOptions } from '../../src/sources/apollo/apollo-source.js';
import { startFakeApollo, type FakeApollo, type FakeApolloOptions } from '../fakes/apollo-server.js';
import { waitUntil as waitFor } from '../support/wait.js';
import type { LogLine } from '../support/agent-process.js';
import { capturingLogger } from '../support/capturing-logger.js';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function fake(options: FakeApolloOptions = {}): Promise<FakeApollo> {
  const apollo = await startFakeApollo({ appId: 'app', holdMs: 300, ...options });
  cleanups.push(() => apollo.close());
  return apollo;
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'apollo-source-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A loopback URL where nothing listens. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

async function counterValue(counter: AgentMetrics['apolloFetches'] | AgentMetrics['releasesRejected'], labels: Record<string, string>): Promise<number> {
  const { values } = await counter.get();
  return values.filter((value) => Object.entries(labels).every(([key, wanted]) => (value.labels as Record<string, unknown>)[key] === wanted)).reduce((sum, value) => sum + value.value, 0);
}

interface Watching {
  source: ApolloSource;
  snapshots: SourceSnapshot[];
  metrics: AgentMetrics;
  lines: LogLine[];
  stop(): Promise<void>;
}

function makeSource(options: Partial<ApolloSourceOptions>): { source: ApolloSource; metrics: AgentMetrics; lines: LogLine[] } {
  const { logger, lines } = capturingLogger();
  const metrics = createMetrics();
  const source = new ApolloSource({
    appId: 'app',
    namespaces: ['application'],
    ip: '10.9.8.7',
    pollTimeoutMs: 5000,
    requestTimeoutMs: 1000,
    minPollIntervalMs: 50,
    backoff: { initialMs: 50, maxMs: 200 },
    logger,
    metrics,
    ...options,
  });
  return { source, metrics, lines };
}

function watch(options: Partial<ApolloSourceOptions>): Watching {
  const { source, metrics, lines } = makeSource(options);
  const snapshots: SourceSnapshot[] = [];
  const controller = new AbortController();
  // As the release gate would for releases that map: the source caches only those.
  const running = source.watch((snapshot) => {
    snapshots.push(snapshot);
    for (const release of snapshot.namespaces) source.accepted(release);
  }, controller.signal);
  const stop = async (): Promise<void> => {
    controller.abort();
    await running;
  };
  cleanups.push(stop);
  return { source, snapshots, metrics, lines, stop };
}

function configsOf(snapshot: SourceSnapshot | undefined, namespace: string): Readonly<Record<string, string>> | undefined {
  return snapshot?.namespaces.find((ns) => ns.name === namespace)?.configurations;
}

test('load: every namespace, lowest priority first, json content', async () => {
  const apollo = await fake();
  const release = apollo.publish('application', { 'state.redis.host': 'h1' });
  apollo.publishContent('gateway.json', '{"state":{"redis":{"port":"1"}}}');
  apollo.publish('empty', {});
  const { source, metrics } = makeSource({ configServices: [apollo.url], namespaces: ['application.properties', 'gateway.json', 'empty'] });
  const snapshot = await source.load();
  assert.equal(snapshot.sourceId, 'apollo');
  assert.ok(Object.isFrozen(snapshot) && Object.isFrozen(snapshot.namespaces[0]) && Object.isFrozen(snapshot.namespaces[0]?.configurations));
  assert.deepEqual(
    snapshot.namespaces.map((ns) => [ns.key, ns.format, ns.origin]),
    [
      ['apollo:application.properties', 'properties', 'apollo'],
      ['apollo:gateway.json', 'json', 'apollo'],
      ['apollo:empty', 'properties', 'apollo'],
    ],
  );
  assert.deepEqual(snapshot.namespaces[0]?.configurations, { 'state.redis.host': 'h1' });
  assert.equal(snapshot.namespaces[0]?.releaseKey, release.releaseKey);
  assert.deepEqual(snapshot.namespaces[1]?.configurations, { content: '{"state":{"redis":{"port":"1"}}}' });
  assert.deepEqual(snapshot.namespaces[2]?.configurations, {});
  assert.ok(snapshot.revision.includes(release.releaseKey));
  assert.equal(await counterValue(metrics.apolloFetches, { result: 'ok' }), 3);
  const fetched = apollo.requests.filter((request) => request.kind === 'configs').map((request) => request.segments[3]);
  assert.deepEqual(fetched.sort(), ['application', 'empty', 'gateway.json'], '.properties is stripped on the wire');
});

test('load: a 404 (a wrong appId, cluster or namespace) is an error naming all three, never an empty namespace', async () => {
  const apollo = await fake();
  apollo.publish('application', { a: '1' });
  const cacheDir = await tempDir();
  for (const options of [{ appId: 'wrong-app' }, { namespaces: ['application', 'missing'] }]) {
    const { source } = makeSource({ configServices: [apollo.url], cacheDir, ...options });
    await assert.rejects(source.load(), (error: unknown) => {
      assert.ok(error instanceof ApolloNotFoundError, String(error));
      const namespace = options.appId ? 'application' : 'missing';
      assert.equal(error.message, `Apollo has no release of namespace ${namespace} (appId ${options.appId ?? 'app'}, cluster default): check the app id, cluster and namespace names`);
      return true;
    });
  }
});

test('watch: first snapshot at once, then one per real release; only the changed namespace is fetched', async () => {
  const apollo = await fake();
  apollo.publish('application', { a: '1' });
  const shared = apollo.publish('shared', { s: '1' });
  const w = watch({ configServices: [apollo.url], namespaces: ['application', 'shared'], label: 'gray' });
  await waitFor(() => w.snapshots.length === 1);
  assert.deepEqual(configsOf(w.snapshots[0], 'shared'), { s: '1' });
  // Let the initial -1 poll settle (its fetches are 304s) and the next poll be held.
  await waitFor(() => apollo.openPolls() === 1 && apollo.requests.filter((r) => r.kind === 'configs').length === 4);
  apollo.clearRequests();

  const next = apollo.publish('shared', { s: '2' });
  await waitFor(() => w.snapshots.length === 2);
  assert.deepEqual(configsOf(w.snapshots[1], 'shared'), { s: '2' });
  assert.deepEqual(configsOf(w.snapshots[1], 'application'), { a: '1' });
  const configs = apollo.requests.filter((request) => request.kind === 'configs');
  assert.equal(configs.length, 1, 'only the namespace that changed is fetched');
  const [fetch] = configs;
  assert.equal(fetch?.segments[3], 'shared');
  assert.equal(fetch?.query['releaseKey'], shared.releaseKey);
  assert.equal(fetch?.query['ip'], '10.9.8.7');
  assert.equal(fetch?.query['label'], 'gray');
  assert.deepEqual(JSON.parse(fetch?.query['messages'] ?? 'null'), { details: { 'app+default+shared': next.notificationId } });
  assert.ok(w.snapshots[1]!.observedAt >= w.snapshots[0]!.observedAt);

  // A release with identical content is still a release (its identity is releaseKey and content);
  // the gate and planner find nothing to push in it.
  const same = apollo.publish('shared', { s: '2' });
  await waitFor(() => w.snapshots.length === 3);
  assert.equal(w.snapshots[2]?.namespaces[1]?.releaseKey, same.releaseKey);
  apollo.publish('application', { a: '3' });
  await waitFor(() => w.snapshots.length === 4);
  assert.deepEqual(configsOf(w.snapshots[3], 'application'), { a: '3' });
  assert.ok((await counterValue(w.metrics.apolloFetches, { result: 'not_modified' })) >= 2);
  await w.stop();
  await waitFor(() => apollo.openPolls() === 0);
});

test('watch: polls are paced by the hold, and nothing is emitted without a release', async () => {
  const apollo = await fake({ holdMs: 300 });
  apollo.publish('application', { a: '1' });
  const w = watch({ configServices: [apollo.url] });
  await waitFor(() => w.snapshots.length === 1);
  const started = Date.now();
  await waitFor(() => apollo.requests.filter((request) => request.kind === 'notifications').length >= 8);
  assert.ok(Date.now() - started >= 1800, 'held polls, not a spin');
  assert.equal(w.snapshots.length, 1);
});

test('404 in watch: a namespace never served counts as empty; one served keeps its content and is retried', async () => {
  const apollo = await fake();
  apollo.publish('application', { a: '1' });
  const w = watch({ configServices: [apollo.url], namespaces: ['application', 'late.yaml'] });
  await waitFor(() => w.snapshots.length === 1);
  assert.deepEqual(configsOf(w.snapshots[0], 'late.yaml'), { content: '' });
  const warning = w.lines.find((line) => line.message.startsWith('Apollo has no release of this namespace'));
  assert.deepEqual([warning?.['namespace'], warning?.['appId'], warning?.['cluster']], ['late.yaml', 'app', 'default']);
  assert.match(w.source.status().find((s) => s.namespace === 'late.yaml')?.error ?? '', /no release of namespace late\.yaml \(appId app, cluster default\)/);
  apollo.publishContent('late.yaml', 'state:\n  redis: {}\n');
  await waitFor(() => w.snapshots.length === 2);
  assert.deepEqual(configsOf(w.snapshots[1], 'late.yaml'), { content: 'state:\n  redis: {}\n' });

  // A proxy's stray 404 (or a deleted release) must not unload what Apollo served.
  await waitFor(() => apollo.openPolls() === 1);
  apollo.deleteRelease('application');
  await waitFor(() => w.lines.filter((line) => line.message === 'Apollo namespace could not be fetched; retrying after backoff' && line['namespace'] === 'application').length >= 2);
  assert.equal(w.snapshots.length, 2, 'nothing emitted: the served content stays');
  const status = w.source.status().find((s) => s.namespace === 'application');
  assert.equal(status?.failing, true);
  assert.match(status?.error ?? '', /appId app, cluster default/);
  apollo.publish('application', { a: '2' });
  await waitFor(() => w.snapshots.length === 3);
  assert.deepEqual(configsOf(w.snapshots[2], 'application'), { a: '2' });
});

test('a cached copy does not outlive a 404: the namespace becomes empty, and so does its cache', async () => {
  const apollo = await fake();
  const cacheDir = await tempDir();
  apollo.publish('application', { a: '1' });
  const first = watch({ configServices: [apollo.url], cacheDir });
  const cacheFile = join(cacheDir, 'app', 'config-cache', 'app+default+application.properties');
  await waitFor(async () => /^a=1$/m.test(await readFile(cacheFile, 'utf8').catch(() => '')));
  await first.stop();
  // A cache whose header cannot be read: content without a releaseKey.
  await writeFile(cacheFile, 'a=1\n');
  apollo.deleteRelease('application');
  const w = watch({ configServices: [apollo.url], cacheDir });
  await waitFor(() => w.snapshots.length === 1);
  assert.deepEqual(configsOf(w.snapshots[0], 'application'), {});
  await waitFor(async () => !/^a=1$/m.test(await readFile(cacheFile, 'utf8')));
});

test('failover: a dead and a hanging config service are skipped for a live one', async () => {
  const live = await fake();
  live.publish('application', { a: 'live' });
  const hanging = await fake();
  hanging.setFault({ mode: 'hang' });
  const dead = await deadUrl();
  // A shuffle that keeps the given order: dead first, then hanging, then live.
  const { source, metrics } = makeSource({ configServices: [dead, hanging.url, live.url], requestTimeoutMs: 300, random: () => 0.999 });
  const started = Date.now();
  const snapshot = await source.load();
  assert.deepEqual(configsOf(snapshot, 'application'), { a: 'live' });
  assert.ok(Date.now() - started >= 290, 'waited for the hanging service to time out');
  assert.equal(hanging.requests.length, 1);
  assert.equal(await counterValue(metrics.apolloFetches, { result: 'ok' }), 1);
  // The failed services are tried last from now on.
  live.clearRequests();
  await source.load();
  // Told by the requests, not by a clock: a loaded machine can take 290 ms for a local fetch.
  assert.equal(hanging.requests.length, 1, 'the live service is asked first now');
  assert.equal(live.requests.filter((r) => r.kind === 'configs').length, 1);
});

test('meta discovery: services listed by the meta server, a dead one skipped, the list kept while meta is down', async () => {
  const apollo = await fake();
  apollo.publish('application', { a: 'via-meta' });
  apollo.setMetaServices([await deadUrl(), apollo.url]);
  // Interval 0: every request asks the meta server first.
  const { source } = makeSource({ meta: [apollo.metaUrl], metaRefreshIntervalMs: 0, random: () => 0.999 });
  assert.deepEqual(configsOf(await source.load(), 'application'), { a: 'via-meta' });
  const meta = apollo.requests.filter((request) => request.kind === 'meta');
  assert.equal(meta.length, 1);
  assert.equal(meta[0]?.query['appId'], 'app');
  assert.equal(meta[0]?.query['ip'], '10.9.8.7');

  apollo.setFault({ mode: 'status', status: 500 }, { paths: 'meta' });
  assert.deepEqual(configsOf(await source.load(), 'application'), { a: 'via-meta' });
  assert.ok(apollo.requests.filter((request) => request.kind === 'meta').length >= 2, 'the meta server was asked again');
  apollo.setFault(null);
});

test('cache: written after a fetch, used while Apollo is down, then Apollo catches up', async () => {
  const apollo = await fake();
  const cacheDir = await tempDir();
  const first = apollo.publish('application', { 'state.redis.host': 'cached:1', 'odd key=': 'é\n' });
  const cacheFile = join(cacheDir, 'app', 'config-cache', 'app+default+application.properties');
  await makeSource({ configServices: [apollo.url], cacheDir }).source.load();
  await assert.rejects(readFile(cacheFile, 'utf8'), { code: 'ENOENT' }, 'a one-shot load writes nothing');
  const writer = watch({ configServices: [apollo.url], cacheDir });
  await waitFor(async () => /^state\.redis\.host=cached:1$/m.test(await readFile(cacheFile, 'utf8').catch(() => '')));
  await writer.stop();

  await apollo.stop();
  const down = makeSource({ configServices: [apollo.url], cacheDir });
  const fromCache = await down.source.load();
  assert.equal(fromCache.namespaces[0]?.origin, 'cache');
  assert.equal(fromCache.namespaces[0]?.releaseKey, first.releaseKey);
  assert.deepEqual(configsOf(fromCache, 'application'), { 'state.redis.host': 'cached:1', 'odd key=': 'é\n' });

  const w = watch({ configServices: [apollo.url], cacheDir });
  await waitFor(() => w.snapshots.length === 1);
  assert.equal(w.snapshots[0]?.namespaces[0]?.origin, 'cache');
  await apollo.start();
  apollo.publish('application', { 'state.redis.host': 'fresh:2' });
  await waitFor(() => w.snapshots.length === 2);
  assert.equal(w.snapshots[1]?.namespaces[0]?.origin, 'apollo');
  assert.deepEqual(configsOf(w.snapshots[1], 'application'), { 'state.redis.host': 'fresh:2' });
  // The cache is written just after the snapshot goes out (cacheWriteDelayMs, 0 by default).
  await waitFor(async () => /^state\.redis\.host=fresh:2$/m.test(await readFile(cacheFile, 'utf8')));
});

test('cache: a write waits cacheWriteDelayMs after its release; stopping writes what is pending', async () => {
  const apollo = await fake();
  const cacheDir = await tempDir();
  apollo.publish('application', { 'state.redis.host': 'h1' });
  const w = watch({ configServices: [apollo.url], cacheDir, cacheWriteDelayMs: 60_000 });
  await waitFor(() => w.snapshots.length === 1);
  await waitFor(() => w.lines.some((line) => line.message === 'Apollo namespace updated'));
  const cacheFile = join(cacheDir, 'app', 'config-cache', 'app+default+application.properties');
  await assert.rejects(readFile(cacheFile, 'utf8'), { code: 'ENOENT' });
  await w.stop();
  assert.match(await readFile(cacheFile, 'utf8'), /^state\.redis\.host=h1$/m);
});

test('load fails with a SourceError only when a namespace is neither in Apollo nor in the cache', async () => {
  const apollo = await fake();
  const cacheDir = await tempDir();
  apollo.publish('application', { a: '1' });
  apollo.publish('second', { b: '1' });
  const writer = watch({ configServices: [apollo.url], cacheDir });
  await waitFor(() => writer.source.status().every((s) => s.lastSuccessAt !== undefined) && apollo.openPolls() === 1);
  await writer.stop();
  await apollo.stop();
  const { source } = makeSource({ configServices: [apollo.url], cacheDir, namespaces: ['application', 'second'] });
  await assert.rejects(source.load(), (error: unknown) => {
    assert.ok(error instanceof SourceError);
    assert.match(error.message, /second/);
    assert.doesNotMatch(error.message, /application \(/);
    return true;
  });
  await apollo.start();
});

test('watch without Apollo or cache emits nothing until Apollo answers', async () => {
  const apollo = await fake();
  await apollo.stop();
  const w = watch({ configServices: [apollo.url] });
  await waitFor(() => w.lines.some((line) => line.message === 'Apollo namespace could not be fetched; retrying after backoff'));
  assert.equal(w.snapshots.length, 0);
  await apollo.start();
  apollo.publish('application', { a: 'back' });
  await waitFor(() => w.snapshots.length === 1, 8000);
  assert.deepEqual(configsOf(w.snapshots[0], 'application'), { a: 'back' });
});

for (const [label, fault] of [
  ['an HTML page with status 200', { mode: 'malformed' }],
  ['JSON of the wrong shape', { mode: 'wrongShape' }],
  ['a 500', { mode: 'status', status: 500 }],
] as const) {
  test(`/configs answering ${label} is a transport fault: nothing emitted, retried with backoff, the release taken once it clears`, async () => {
    const apollo = await fake();
    apollo.publish('application', { a: '1' });
    const w = watch({ configServices: [apollo.url] });
    await waitFor(() => w.snapshots.length === 1 && apollo.openPolls() === 1);
    apollo.setFault(fault, { paths: 'configs' });
    apollo.publish('application', { a: '2' });
    const retries = (): LogLine[] => w.lines.filter((line) => line.message === 'Apollo namespace could not be fetched; retrying after backoff');
    await waitFor(() => retries().length >= 3);
    assert.equal(w.snapshots.length, 1, 'nothing of the fault was emitted');
    assert.equal(await counterValue(w.metrics.releasesRejected, { namespace: 'application' }), 0);
    const delays = retries().map((line) => Number(line['delayMs']));
    assert.ok(delays[2]! >= delays[0]!, `backoff grows: ${delays.join(', ')}`);
    assert.equal(w.source.status()[0]?.failing, true);
    const cleared = Date.now();
    apollo.setFault(null);
    await waitFor(() => w.snapshots.length === 2, 5_000);
    assert.ok(Date.now() - cleared < 5_000);
    assert.deepEqual(configsOf(w.snapshots[1], 'application'), { a: '2' });
    assert.equal(w.source.status()[0]?.failing, false);
  });
}

test('a body over the size limit is a transport fault, the last good content stays; a large value alone is content (the push size limit is downstream)', async () => {
  const apollo = await fake();
  apollo.publish('application', { a: '1' });
  const w = watch({ configServices: [apollo.url], maxBodyBytes: 64 * 1024 });
  await waitFor(() => w.snapshots.length === 1 && apollo.openPolls() === 1);
  apollo.publish('application', { a: 'x'.repeat(32 * 1024) });
  await waitFor(() => w.snapshots.length === 2 && apollo.openPolls() === 1);
  assert.equal(configsOf(w.snapshots[1], 'application')?.['a']?.length, 32 * 1024);
  const many: Record<string, string> = {};
  for (let i = 0; i < 200; i += 1) many[`key.${i}`] = 'y'.repeat(500);
  apollo.publish('application', many);
  await waitFor(() => w.lines.some((line) => line.message === 'Apollo namespace could not be fetched; retrying after backoff' && /exceeds 65536 bytes/.test(String(line['error']))));
  assert.equal(w.snapshots.length, 2, 'the last good content stays');
  apollo.publish('application', { a: '3' });
  await waitFor(() => w.snapshots.length === 3, 5_000);
  assert.deepEqual(configsOf(w.snapshots[2], 'application'), { a: '3' });
});

test('access key: every request is signed and accepted', async () => {
  const apollo = await fake({ accessKeySecret: 'k3y' });
  apollo.publish('application', { a: '1' });
  const w = watch({ configServices: [apollo.url], accessKeySecret: 'k3y' });
  await waitFor(() => w.snapshots.length === 1 && apollo.openPolls() === 1);
  apollo.publish('application', { a: '2' });
  await waitFor(() => w.snapshots.length === 2);
  const apolloRequests = apollo.requests.filter((request) => request.kind !== 'meta');
  assert.ok(apolloRequests.length >= 3);
  for (const request of apolloRequests) {
    assert.match(request.authorization ?? '', /^Apollo app:[A-Za-z0-9+/]+=*$/);
    assert.notEqual(request.status, 401);
  }
});

test('odd namespace names are encoded on the wire and matched back', async () => {
  const apollo = await fake();
  const name = 'team a/b+c%é.json';
  apollo.publishContent('TEAM A/B+C%é.json', '{"x":1}');
  const w = watch({ configServices: [apollo.url], namespaces: [name] });
  await waitFor(() => w.snapshots.length === 1);
  assert.deepEqual(configsOf(w.snapshots[0], name), { content: '{"x":1}' });
  const fetch = apollo.requests.find((request) => request.kind === 'configs');
  assert.ok(fetch?.rawUrl.startsWith(`/configs/app/default/${encodeURIComponent(name)}?`), fetch?.rawUrl);
  await waitFor(() => apollo.openPolls() === 1);
  apollo.publishContent('TEAM A/B+C%é.json', '{"x":2}');
  await waitFor(() => w.snapshots.length === 2);
  assert.deepEqual(configsOf(w.snapshots[1], name), { content: '{"x":2}' });
});

test('stopping a watch resolves and leaves no poll open', async () => {
  const apollo = await fake({ holdMs: 60_000 });
  apollo.publish('application', { a: '1' });
  const w = watch({ configServices: [apollo.url] });
  await waitFor(() => w.snapshots.length === 1 && apollo.openPolls() === 1);
  const started = Date.now();
  await w.stop();
  assert.ok(Date.now() - started < 1000);
  await waitFor(() => apollo.openPolls() === 0);
});
