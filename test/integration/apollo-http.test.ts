import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { silentLogger } from '../../src/observability/logger.js';
import { ApolloHttp, ResponseTooLargeError } from '../../src/sources/apollo/apollo-http.js';

const LIMIT = 64 * 1024;

/** Answers every GET with `body` gzip-compressed: Content-Length is the compressed size. */
async function gzipServer(body: string): Promise<{ url: string; server: Server }> {
  const compressed = gzipSync(body);
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': compressed.length });
    res.end(compressed);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const http = new ApolloHttp({ appId: 'app', maxBodyBytes: LIMIT, logger: silentLogger() });

test('a compressed body is held to the limit by its decoded size, not by its Content-Length', async () => {
  const body = JSON.stringify({ releaseKey: 'r', configurations: { a: 'x'.repeat(4 * LIMIT) } });
  const { url } = await gzipServer(body);
  assert.ok(gzipSync(body).length < LIMIT, 'the compressed body alone is under the limit');
  await assert.rejects(http.get({ baseUrl: url, path: ['configs'], timeoutMs: 5_000 }), ResponseTooLargeError);
});

test('a compressed body under the limit is read whole', async () => {
  const body = JSON.stringify({ releaseKey: 'r', configurations: { a: 'x'.repeat(LIMIT / 2) } });
  const { url } = await gzipServer(body);
  const response = await http.get({ baseUrl: url, path: ['configs'], timeoutMs: 5_000 });
  assert.equal(response.status, 200);
  assert.equal(response.body, body);
});
