import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { silentLogger, type Logger } from '../../src/observability/logger.js';
import { createMetrics, type AgentMetrics } from '../../src/observability/metrics.js';
import { ApolloHttp } from '../../src/sources/apollo/apollo-http.js';
import { ConfigServiceLocator } from '../../src/sources/apollo/config-service-locator.js';
import { NotificationPoller, type NotificationListener, type NamespaceNotification } from '../../src/sources/apollo/notification-poller.js';
import { startFakeApollo, type FakeApollo } from '../fakes/apollo-server.js';
import { waitUntil as waitFor } from '../support/wait.js';
import { capturingLogger } from '../support/capturing-logger.js';

const fakes: FakeApollo[] = [];
after(async () => {
  for (const fake of fakes) await fake.close();
});

async function fake(options: Parameters<typeof startFakeApollo>[0]): Promise<FakeApollo> {
  const apollo = await startFakeApollo(options);
  fakes.push(apollo);
  return apollo;
}

async function counted(metrics: AgentMetrics, result: string): Promise<number> {
  return (await metrics.apolloPolls.get()).values.find((value) => value.labels.result === result)?.value ?? 0;
}

interface Rig {
  poller: NotificationPoller;
  metrics: AgentMetrics;
  run(handler: NotificationListener): Promise<void>;
  stop(): Promise<void>;
}

function rig(options: {
  urls: string[];
  namespaces: string[];
  secret?: string;
  logger?: Logger;
  minPollIntervalMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  pollTimeoutMs?: number;
  random?: () => number;
}): Rig {
  const logger = options.logger ?? silentLogger();
  const metrics = createMetrics();
  const http = new ApolloHttp({ appId: 'app', accessKeySecret: options.secret, maxBodyBytes: 1 << 20, logger });
  const locator = new ConfigServiceLocator({ configServices: options.urls, appId: 'app', http, logger, refreshIntervalMs: 60_000, requestTimeoutMs: 1000, random: options.random });
  const poller = new NotificationPoller({
    appId: 'app',
    cluster: 'default',
    ip: '10.1.2.3',
    namespaces: options.namespaces,
    http,
    locator,
    pollTimeoutMs: options.pollTimeoutMs ?? 5000,
    minPollIntervalMs: options.minPollIntervalMs ?? 50,
    backoff: options.backoff ?? { initialMs: 100, maxMs: 400 },
    logger,
    metrics,
  });
  const controller = new AbortController();
  let running: Promise<void> | undefined;
  return {
    poller,
    metrics,
    run(handler) {
      running = poller.run(handler, controller.signal);
      return running;
    },
    async stop() {
      controller.abort();
      await running;
    },
  };
}

const settleAll: NotificationListener = () => undefined;

test('one long-poll at a time, ~one per hold period, changes handed over with their ids and messages', async (t) => {
  const apollo = await fake({ appId: 'app', holdMs: 300 });
  apollo.publish('application', { a: '1' });
  const poll = rig({ urls: [apollo.url], namespaces: ['application', 'other'] });
  t.after(() => poll.stop());
  const seen: NamespaceNotification[][] = [];
  let maxOpen = 0;
  const sampler = setInterval(() => {
    maxOpen = Math.max(maxOpen, apollo.openPolls());
  }, 2);
  t.after(() => clearInterval(sampler));

  void poll.run((changes) => {
    seen.push([...changes]);
  });
  const notifications = () => apollo.requests.filter((request) => request.kind === 'notifications');
  await waitFor(() => seen.length === 1);
  const started = Date.now();
  await waitFor(() => notifications().length >= 6);
  const release = apollo.publish('application', { a: '2' });
  await waitFor(() => seen.length === 2);
  await waitFor(() => notifications().length >= 11);
  const elapsed = Date.now() - started;
  await poll.stop();

  // Spinning would make ten polls in milliseconds; held polls need about ten hold periods.
  assert.ok(elapsed >= 2400, `ten polls took ${elapsed} ms`);
  const polls = notifications();
  assert.equal(maxOpen, 1);
  for (let i = 1; i < polls.length; i += 1) {
    const previous = polls[i - 1]!;
    assert.ok(previous.answeredAt === undefined || polls[i]!.receivedAt >= previous.answeredAt, 'a poll starts only after the previous ended');
  }
  assert.equal(seen.length, 2, 'the handler runs only when Apollo announces a release');
  assert.deepEqual(seen[1], [
    {
      namespace: 'application',
      notificationId: release.notificationId,
      messages: { details: { 'app+default+application': release.notificationId } },
    },
  ]);
  const first = polls[0]!;
  assert.deepEqual(JSON.parse(first.query['notifications'] ?? ''), [
    { namespaceName: 'application', notificationId: -1 },
    { namespaceName: 'other', notificationId: -1 },
  ]);
  assert.equal(first.query['appId'], 'app');
  assert.equal(first.query['cluster'], 'default');
  assert.equal(first.query['ip'], '10.1.2.3');
  const last = polls.at(-1)!;
  assert.deepEqual(JSON.parse(last.query['notifications'] ?? ''), [
    { namespaceName: 'application', notificationId: release.notificationId },
    { namespaceName: 'other', notificationId: -1 },
  ]);
  assert.ok((await counted(poll.metrics, 'changed')) === 2);
  assert.ok((await counted(poll.metrics, 'unchanged')) >= 4);
});

test('a server answering 304 at once does not make the poller spin', async (t) => {
  const apollo = await fake({ appId: 'app', holdMs: 0 });
  const poll = rig({ urls: [apollo.url], namespaces: ['application'], minPollIntervalMs: 100 });
  t.after(() => poll.stop());
  const started = Date.now();
  void poll.run(settleAll);
  await waitFor(() => apollo.requests.filter((request) => request.kind === 'notifications').length >= 6);
  const elapsed = Date.now() - started;
  await poll.stop();
  assert.ok(elapsed >= 490, `six polls are spaced by the minimum interval, took ${elapsed} ms`);
});

test('an immediate 200 that announces nothing new backs off instead of spinning', async (t) => {
  let calls = 0;
  const staleServer = createServer((_request, response) => {
    calls += 1;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify([{ namespaceName: 'application', notificationId: -1 }]));
  });
  await new Promise<void>((resolve) => staleServer.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => staleServer.close(() => resolve())));
  const url = `http://127.0.0.1:${(staleServer.address() as AddressInfo).port}`;
  const poll = rig({ urls: [url], namespaces: ['application'], minPollIntervalMs: 0 });
  t.after(() => poll.stop());
  let handled = 0;
  const started = Date.now();
  void poll.run(() => {
    handled += 1;
  });
  await waitFor(() => calls >= 4);
  const elapsed = Date.now() - started;
  await poll.stop();
  assert.equal(handled, 0);
  // Equal jitter waits at least half of 100, 200 and 400 ms between the four answers.
  assert.ok(elapsed >= 340, `four stale answers took ${elapsed} ms`);
});

test('an id that brought nothing new is sent back as the previous one; announced again, it is believed', async (t) => {
  const apollo = await fake({ appId: 'app', holdMs: 5000 });
  apollo.publish('application', { a: '1' });
  const poll = rig({ urls: [apollo.url], namespaces: ['application'] });
  t.after(() => poll.stop());
  const seen: NamespaceNotification[] = [];
  void poll.run((changes) => {
    seen.push(...changes);
    // The repository found nothing new behind each announcement (a 304).
    for (const change of changes) poll.poller.settle(change.namespace, change.notificationId, false);
  });
  await waitFor(() => seen.length === 1 && apollo.openPolls() === 1);
  apollo.publish('application', { a: '2' });
  // Probation: the new id brought nothing, so the previous one is sent and the server names the new one again.
  await waitFor(() => seen.length === 3 && apollo.openPolls() === 1);
  const ids = apollo.requests.filter((request) => request.kind === 'notifications').map((request) => JSON.parse(request.query['notifications']!)[0].notificationId as number);
  assert.deepEqual(ids, [-1, 1, 1, 2]);
  assert.deepEqual(seen.map((change) => change.notificationId), [1, 2, 2]);
});

test('a bogus notificationId far ahead of the server does not silence later releases', async (t) => {
  const apollo = await fake({ appId: 'app', holdMs: 5000 });
  apollo.publish('application', { a: '1' });
  // A proxy in front of Apollo that once answers an id far ahead of the server's.
  let bogus = true;
  const proxy = createServer((request, response) => {
    const url = request.url ?? '/';
    if (bogus && url.includes('/notifications/v2') && url.includes('%22notificationId%22%3A1')) {
      bogus = false;
      response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify([{ namespaceName: 'application', notificationId: Number.MAX_SAFE_INTEGER }]));
      return;
    }
    void fetch(`${apollo.url}${url}`).then(async (answer) => {
      response.writeHead(answer.status, { 'Content-Type': 'application/json' }).end(await answer.text());
    }, () => response.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => {
    proxy.close(() => resolve());
    proxy.closeAllConnections();
  }));
  const poll = rig({ urls: [`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`], namespaces: ['application'] });
  t.after(() => poll.stop());
  const seen: number[] = [];
  void poll.run((changes) => {
    for (const change of changes) {
      seen.push(change.notificationId);
      // Only the real release (id 2) brings new content.
      poll.poller.settle(change.namespace, change.notificationId, change.notificationId === 2);
    }
  });
  await waitFor(() => seen.length === 2 && apollo.openPolls() === 1);
  apollo.publish('application', { a: '2' });
  await waitFor(() => seen.includes(2));
  assert.deepEqual(seen, [1, Number.MAX_SAFE_INTEGER, 2]);
});

test('401: one clear error per streak, retried with backoff', async (t) => {
  const apollo = await fake({ appId: 'app', holdMs: 300, accessKeySecret: 'right' });
  apollo.publish('application', { a: '1' });
  const { logger, lines } = capturingLogger();
  const poll = rig({ urls: [apollo.url], namespaces: ['application'], secret: 'wrong', logger, backoff: { initialMs: 100, maxMs: 200 } });
  t.after(() => poll.stop());
  const handled: number[] = [];
  const started = Date.now();
  void poll.run((changes) => {
    handled.push(changes.length);
  });
  await waitFor(() => apollo.requests.filter((request) => request.status === 401).length >= 5);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 50 + 100 + 100 + 100, `five rejected polls took ${elapsed} ms`);
  const errors = lines.filter((line) => line.level === 'error');
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.message, /appId.*access key secret.*clock/);
  assert.equal(handled.length, 0);
  assert.ok((await counted(poll.metrics, 'error')) >= 4);

  apollo.setAccessKeySecret(undefined);
  await waitFor(() => handled.length === 1);
  apollo.setAccessKeySecret('right');
  await waitFor(() => lines.filter((line) => line.level === 'error').length === 2, 3000);
});

test('after an error the next poll goes to another config service', async (t) => {
  const live = await fake({ appId: 'app', holdMs: 300 });
  const dead = await fake({ appId: 'app' });
  await dead.stop();
  // A shuffle that keeps the given order: the dead service is asked first.
  const poll = rig({ urls: [dead.url, live.url], namespaces: ['application'], backoff: { initialMs: 20, maxMs: 40 }, random: () => 0.99 });
  t.after(() => poll.stop());
  void poll.run(settleAll);
  await waitFor(() => live.requests.filter((request) => request.kind === 'notifications').length >= 3);
  assert.equal(await counted(poll.metrics, 'error'), 1, 'one failed poll, then the live service');
  assert.equal(live.openPolls(), 1);
});
