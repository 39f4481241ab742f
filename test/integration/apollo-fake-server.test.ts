import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { signatureHeaders } from '../../src/sources/apollo/signature.js';
import { startFakeApollo, type FakeApollo } from '../fakes/apollo-server.js';
import { waitUntil as waitFor } from '../support/wait.js';

let apollo: FakeApollo;

before(async () => {
  apollo = await startFakeApollo({ appId: 'app', holdMs: 200 });
});
after(async () => {
  await apollo.close();
});

function pollUrl(entries: Array<{ namespaceName: string; notificationId: number }>, appId = 'app'): string {
  return `${apollo.url}/notifications/v2?appId=${appId}&cluster=default&notifications=${encodeURIComponent(JSON.stringify(entries))}`;
}

test('configs: 200 with the full release, 304 on the current releaseKey, 404 without a release', async () => {
  const release = apollo.publish('Shared.Properties', { a: '1' });
  const ok = await fetch(`${apollo.url}/configs/app/default/shared`);
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), {
    appId: 'app',
    cluster: 'default',
    namespaceName: 'Shared',
    configurations: { a: '1' },
    releaseKey: release.releaseKey,
  });
  const same = await fetch(`${apollo.url}/configs/app/default/SHARED.properties?releaseKey=${encodeURIComponent(release.releaseKey)}`);
  assert.equal(same.status, 304);
  assert.equal((await fetch(`${apollo.url}/configs/app/default/never-released`)).status, 404);
  assert.equal((await fetch(`${apollo.url}/configs/other-app/default/shared`)).status, 404);
  apollo.deleteRelease('shared');
  assert.equal((await fetch(`${apollo.url}/configs/app/default/shared`)).status, 404);
});

test('configs: json namespaces deliver their text as content; odd names are decoded per segment', async () => {
  apollo.publishContent('odd name/with+chars%é.json', '{"state":{}}');
  const response = await fetch(`${apollo.url}/configs/app/default/${encodeURIComponent('ODD name/with+chars%é.json')}`);
  assert.equal(response.status, 200);
  const body = (await response.json()) as { namespaceName: string; configurations: Record<string, string> };
  assert.equal(body.namespaceName, 'odd name/with+chars%é.json');
  assert.deepEqual(body.configurations, { content: '{"state":{}}' });
});

test('notifications: -1 answers at once with the client spelling and messages', async () => {
  const release = apollo.publish('notified', { k: 'v' });
  const response = await fetch(pollUrl([{ namespaceName: 'NOTIFIED', notificationId: -1 }]));
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), [
    {
      namespaceName: 'NOTIFIED',
      notificationId: release.notificationId,
      messages: { details: { 'app+default+notified': release.notificationId } },
    },
  ]);
});

test('notifications: held until a publish, which wakes the poll at once; else 304 after the hold', async () => {
  const release = apollo.publish('held', { k: '1' });
  const started = Date.now();
  const unchanged = await fetch(pollUrl([{ namespaceName: 'held', notificationId: release.notificationId }]));
  assert.equal(unchanged.status, 304);
  assert.ok(Date.now() - started >= 150, 'the poll was held');

  apollo.setHoldMs(10_000);
  const pending = fetch(pollUrl([{ namespaceName: 'held', notificationId: release.notificationId }]));
  await waitFor(() => apollo.openPolls() === 1);
  const next = apollo.publish('held', { k: '2' });
  const woken = await pending;
  assert.equal(woken.status, 200);
  assert.equal(((await woken.json()) as Array<{ notificationId: number }>)[0]?.notificationId, next.notificationId);
  assert.equal(apollo.openPolls(), 0);
  apollo.setHoldMs(200);
});

test('notifications: 400 on a malformed list', async () => {
  assert.equal((await fetch(`${apollo.url}/notifications/v2?appId=app&cluster=default&notifications=not-json`)).status, 400);
  assert.equal((await fetch(`${apollo.url}/notifications/v2?appId=app&cluster=default&notifications=%5B%7B%7D%5D`)).status, 400);
  assert.equal((await fetch(`${apollo.url}/notifications/v2?appId=app&cluster=default`)).status, 400);
});

test('meta: lists this service, or the list that was set', async () => {
  const self = await (await fetch(`${apollo.metaUrl}/services/config?appId=app`)).json();
  assert.deepEqual(self, [{ appName: 'APOLLO-CONFIGSERVICE', instanceId: 'fake:0', homepageUrl: `${apollo.url}/` }]);
  apollo.setMetaServices(['http://127.0.0.1:1', apollo.url]);
  const listed = (await (await fetch(`${apollo.metaUrl}/services/config`)).json()) as Array<{ homepageUrl: string }>;
  assert.deepEqual(listed.map((entry) => entry.homepageUrl), ['http://127.0.0.1:1/', `${apollo.url}/`]);
  apollo.setMetaServices(null);
});

test('access key: a valid signature passes, a wrong one or an old timestamp gets 401', async () => {
  apollo.setAccessKeySecret('secret');
  try {
    apollo.publish('signed', { k: 'v' });
    const path = '/configs/app/default/signed?ip=10.0.0.1';
    assert.equal((await fetch(`${apollo.url}${path}`)).status, 401);
    assert.equal((await fetch(`${apollo.url}${path}`, { headers: { ...signatureHeaders('app', 'secret', path) } })).status, 200);
    assert.equal((await fetch(`${apollo.url}${path}`, { headers: { ...signatureHeaders('app', 'wrong', path) } })).status, 401);
    const stale = signatureHeaders('app', 'secret', path, Date.now() - 61_000);
    assert.equal((await fetch(`${apollo.url}${path}`, { headers: { ...stale } })).status, 401);
    const signedOther = signatureHeaders('app', 'secret', '/configs/app/default/signed?ip=10.0.0.2');
    assert.equal((await fetch(`${apollo.url}${path}`, { headers: { ...signedOther } })).status, 401);
    assert.equal((await fetch(`${apollo.metaUrl}/services/config`)).status, 200, 'the meta server is not behind the key');
  } finally {
    apollo.setAccessKeySecret(undefined);
  }
});

test('faults: status, malformed, wrong shape, reset, hang; limited by path and count', async () => {
  apollo.publish('faulty', { k: 'v' });
  const url = `${apollo.url}/configs/app/default/faulty`;

  apollo.setFault({ mode: 'status', status: 503 }, { paths: 'configs', times: 2 });
  assert.equal((await fetch(pollUrl([{ namespaceName: 'faulty', notificationId: -1 }]))).status, 200, 'other paths unaffected');
  assert.equal((await fetch(url)).status, 503);
  assert.equal((await fetch(url)).status, 503);
  assert.equal((await fetch(url)).status, 200, 'the fault ran out');

  apollo.setFault({ mode: 'malformed' }, { times: 1 });
  const malformed = await fetch(url);
  assert.equal(malformed.status, 200);
  await assert.rejects(malformed.json());

  apollo.setFault({ mode: 'wrongShape' }, { times: 1 });
  assert.deepEqual(await (await fetch(url)).json(), { appId: 'app', configurations: 'not-a-map' });

  apollo.setFault({ mode: 'reset' }, { times: 1 });
  await assert.rejects(fetch(url));

  apollo.setFault({ mode: 'hang' });
  await assert.rejects(fetch(url, { signal: AbortSignal.timeout(200) }));
  apollo.setFault(null);
  assert.equal((await fetch(url)).status, 200);
});

test('stop and start: down on the same port, state kept', async () => {
  apollo.publish('durable', { k: 'v' });
  const port = apollo.port;
  await apollo.stop();
  await assert.rejects(fetch(`${apollo.url}/configs/app/default/durable`));
  await apollo.start();
  assert.equal(apollo.port, port);
  assert.equal((await fetch(`${apollo.url}/configs/app/default/durable`)).status, 200);
});

test('requests are logged with kind, decoded query, headers and status', async () => {
  apollo.clearRequests();
  await fetch(`${apollo.url}/configs/app/default/durable?ip=1.2.3.4&label=gray&messages=${encodeURIComponent('{"details":{}}')}`);
  assert.equal(apollo.requests.length, 1);
  const [request] = apollo.requests;
  assert.equal(request?.kind, 'configs');
  assert.equal(request?.status, 200);
  assert.deepEqual(request?.segments, ['configs', 'app', 'default', 'durable']);
  assert.deepEqual(request?.query, { ip: '1.2.3.4', label: 'gray', messages: '{"details":{}}' });
  assert.ok(request?.answeredAt !== undefined && request.answeredAt >= request.receivedAt);
});
