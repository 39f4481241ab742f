import assert from 'node:assert/strict';
import { hashText } from '../../src/domain/hash.js';
import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { buildUrl } from '../../src/sources/apollo/apollo-http.js';
import { NamespaceCache } from '../../src/sources/apollo/namespace-cache.js';
import { parseNamespaceName, sameNamespace } from '../../src/sources/apollo/namespace-name.js';
import { MAX_MESSAGE_KEYS, mergeMessages } from '../../src/sources/apollo/notification-messages.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'apollo-cache-'));
  dirs.push(dir);
  return dir;
}

test('namespace names: .properties stripped, other suffixes kept with their format', () => {
  assert.deepEqual(parseNamespaceName('application'), { configured: 'application', remote: 'application', format: 'properties' });
  assert.deepEqual(parseNamespaceName('app.Properties'), { configured: 'app.Properties', remote: 'app', format: 'properties' });
  assert.equal(parseNamespaceName('gateway.json').format, 'json');
  assert.equal(parseNamespaceName('gateway.json').remote, 'gateway.json');
  assert.equal(parseNamespaceName('a.YAML').format, 'yaml');
  assert.equal(parseNamespaceName('a.yml').format, 'yaml');
  assert.equal(parseNamespaceName('a.xml').format, 'xml');
  assert.equal(parseNamespaceName('a.txt').format, 'txt');
  assert.equal(parseNamespaceName('FX.apollo').format, 'properties');
  assert.ok(sameNamespace('FX.apollo', 'fx.Apollo'));
});

test('every path segment and query value is URL-encoded', () => {
  const url = buildUrl('http://127.0.0.1:8080/base/', ['configs', 'app id', 'default', 'a/b c+d%é?#'], {
    releaseKey: 'k&v=1',
    ip: '10.0.0.1',
    label: undefined,
    messages: '{"details":{"a+b+c":1}}',
  });
  assert.equal(
    `${url.pathname}${url.search}`,
    '/base/configs/app%20id/default/a%2Fb%20c%2Bd%25%C3%A9%3F%23?releaseKey=k%26v%3D1&ip=10.0.0.1&messages=%7B%22details%22%3A%7B%22a%2Bb%2Bc%22%3A1%7D%7D',
  );
  assert.equal(url.searchParams.get('messages'), '{"details":{"a+b+c":1}}');
  assert.equal(url.searchParams.has('label'), false);
});

test('merged messages keep the newest id per watched key', () => {
  const merged = mergeMessages({ details: { 'x+a+ns': 3, 'x+b+ns': 1 } }, { details: { 'x+a+ns': 2, 'x+b+ns': 5, 'x+c+NS': 1 } }, 'ns');
  assert.deepEqual(merged, { details: { 'x+a+ns': 3, 'x+b+ns': 5, 'x+c+NS': 1 } });
  assert.deepEqual(mergeMessages(undefined, { details: { 'x+a+ns': 1 } }, 'ns'), { details: { 'x+a+ns': 1 } });
});

test("merged messages keep only the namespace's own keys, at most MAX_MESSAGE_KEYS of them", () => {
  const flood = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`app+c${i}+ns`, i]));
  const merged = mergeMessages(undefined, { details: { ...flood, 'app+default+other': 7, [`app+default+${'n'.repeat(300)}+ns`]: 1 } }, 'ns');
  assert.equal(Object.keys(merged.details).length, MAX_MESSAGE_KEYS);
  assert.ok(Object.keys(merged.details).every((key) => key.endsWith('+ns') && key.length < 100));
});

test('the cache uses the Java path, mode 0600, and keeps the releaseKey', async () => {
  const dir = await tempDir();
  const cache = new NamespaceCache({ dir, appId: 'app', cluster: 'default', logger: silentLogger() });
  const name = parseNamespaceName('application.properties');
  const path = cache.pathFor(name);
  assert.equal(path, join(dir, 'app', 'config-cache', 'app+default+application.properties'));
  assert.equal(await cache.read(name), undefined);

  await cache.write(name, { releaseKey: '20240101-abc', configurations: { 'state.redis.host': 'h:1', 'x y': 'é' } });
  const read = await cache.read(name);
  assert.deepEqual(read, { releaseKey: '20240101-abc', configurations: { 'state.redis.host': 'h:1', 'x y': 'é' }, contentHash: hashText(await readFile(path, 'utf8')) });
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.match(await readFile(path, 'utf8'), /^state\.redis\.host=h:1$/m);
});

test('the cache reads a file the Java client wrote (no releaseKey)', async () => {
  const dir = await tempDir();
  const cache = new NamespaceCache({ dir, appId: 'app', cluster: 'default', logger: silentLogger() });
  const name = parseNamespaceName('gateway.yaml');
  const path = cache.pathFor(name);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, '#Persisted by DefaultConfig\n#Mon Jan 01 00:00:00 CST 2024\ncontent=state\\:\\n  redis\\: {}\n');
  const { releaseKey, configurations } = (await cache.read(name))!;
  assert.deepEqual({ releaseKey, configurations }, { releaseKey: '', configurations: { content: 'state:\n  redis: {}' } });
});

test('cache file names cannot escape the cache directory', async () => {
  const dir = await tempDir();
  const cache = new NamespaceCache({ dir, appId: '..', cluster: '../x', logger: silentLogger() });
  const path = cache.pathFor(parseNamespaceName('../../etc/passwd'));
  assert.ok(path.startsWith(join(dir, '%2E%2E', 'config-cache') + '/'), path);
  assert.equal(dirname(path), join(dir, '%2E%2E', 'config-cache'));
});
