import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { silentLogger } from '../../src/observability/logger.js';
import { ApolloHttp, ApolloRequestError, ResponseTooLargeError } from '../../src/sources/apollo/apollo-http.js';
import { waitUntil } from '../support/wait.js';

const LIMIT = 64 * 1024;

interface TestServer {
  readonly url: string;
  /** Every request received, in order. */
  readonly requests: IncomingMessage[];
  /** Sockets that connected. */
  connections(): number;
}

async function serve(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<TestServer> {
  const requests: IncomingMessage[] = [];
  let connections = 0;
  const server = createServer((request, response) => {
    requests.push(request);
    handler(request, response);
  });
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, connections: () => connections };
}

/** Answers every GET with `body` encoded: Content-Length is the encoded size. */
function encodedServer(encoding: string, encoded: Buffer): Promise<TestServer> {
  return serve((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': encoding, 'content-length': encoded.length });
    response.end(encoded);
  });
}

const http = new ApolloHttp({ appId: 'app', maxBodyBytes: LIMIT, logger: silentLogger() });

async function failure(promise: Promise<unknown>): Promise<ApolloRequestError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ApolloRequestError, `expected ApolloRequestError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the request to fail');
}

test('a compressed body is held to the limit by its decoded size, not by its Content-Length', async () => {
  const body = JSON.stringify({ releaseKey: 'r', configurations: { a: 'x'.repeat(4 * LIMIT) } });
  const { url } = await encodedServer('gzip', gzipSync(body));
  assert.ok(gzipSync(body).length < LIMIT, 'the compressed body alone is under the limit');
  await assert.rejects(http.get({ baseUrl: url, path: ['configs'], timeoutMs: 5_000 }), ResponseTooLargeError);
});

test('gzip, deflate and br bodies under the limit are decoded whole', async () => {
  const body = JSON.stringify({ releaseKey: 'r', configurations: { a: 'é'.repeat(LIMIT / 4) } });
  for (const [encoding, encoded] of [['gzip', gzipSync(body)], ['deflate', deflateSync(body)], ['br', brotliCompressSync(body)]] as const) {
    const { url } = await encodedServer(encoding, encoded);
    const response = await http.get({ baseUrl: url, path: ['configs'], timeoutMs: 5_000 });
    assert.equal(response.status, 200);
    assert.equal(response.body, body, encoding);
  }
});

test('a gzip bomb stops at the limit: the rest is neither inflated nor read from the socket', async () => {
  // One gzip member of 64 MiB of zeros, sent 200 times (a stream may hold many members): 12.5 GiB inflated.
  const member = gzipSync(Buffer.alloc(64 * 1024 * 1024));
  const copies = 200;
  let written = 0;
  let closed = false;
  const { url } = await serve((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    response.on('close', () => (closed = true));
    const writeMore = (): void => {
      while (written < copies && !closed) {
        written += 1;
        if (!response.write(member)) {
          response.once('drain', writeMore);
          return;
        }
      }
      if (written === copies) response.end();
    };
    writeMore();
  });
  await assert.rejects(http.get({ baseUrl: url, path: ['configs'], timeoutMs: 60_000 }), ResponseTooLargeError);
  await waitUntil(() => closed, 10_000, 'the server to see the connection closed');
  assert.ok(written < copies, `the server wrote ${written} of ${copies} members before the client hung up`);
});

test('a declared Content-Length over the limit fails before the body is read', async () => {
  const { url } = await serve((_request, response) => {
    response.writeHead(200, { 'content-length': LIMIT + 1 });
    response.write('x');
  });
  await assert.rejects(http.get({ baseUrl: url, path: ['configs'], timeoutMs: 5_000 }), ResponseTooLargeError);
});

test('an unknown Content-Encoding and a corrupt gzip body are request failures', async () => {
  const unknown = await encodedServer('compress', Buffer.from('abc'));
  const error = await failure(http.get({ baseUrl: unknown.url, path: ['configs'], timeoutMs: 5_000 }));
  assert.match(error.message, /unsupported Content-Encoding "compress"/);
  const corrupt = await encodedServer('gzip', Buffer.from('not gzip at all'));
  const broken = await failure(http.get({ baseUrl: corrupt.url, path: ['configs'], timeoutMs: 5_000 }));
  assert.match(broken.message, /invalid gzip body/);
  assert.equal(broken.failure, 'network');
});

test('a body cut short by the server is a network failure, not a truncated release', async () => {
  const { url } = await serve((request, response) => {
    response.writeHead(200, { 'content-length': 100 });
    response.write('{"releaseKey":');
    setImmediate(() => request.socket.destroy());
  });
  const error = await failure(http.get({ baseUrl: url, path: ['configs'], timeoutMs: 5_000 }));
  assert.equal(error.failure, 'network');
});

test('a 302 to another host is refused, naming the status and the Location, and the other host is never asked', async () => {
  const elsewhere = await serve((_request, response) => response.end('{}'));
  const redirecting = await serve((_request, response) => {
    response.writeHead(302, { location: `${elsewhere.url.replace('http://', 'http://user:hunter2@')}/configs/app/default/application` });
    response.end();
  });
  const error = await failure(http.get({ baseUrl: redirecting.url, path: ['configs', 'app', 'default', 'application'], timeoutMs: 5_000 }));
  assert.equal(error.failure, 'redirect');
  assert.match(error.message, new RegExp(`answered 302 to ${elsewhere.url}/configs/app/default/application; redirects are not followed`));
  assert.doesNotMatch(error.message, /hunter2/);
  assert.equal(elsewhere.requests.length, 0);
});

test('a 304 is an answer (the long-poll’s "nothing new"), and its connection is used again', async () => {
  const server = await serve((_request, response) => {
    response.writeHead(304);
    response.end();
  });
  for (let round = 0; round < 3; round += 1) {
    const response = await http.get({ baseUrl: server.url, path: ['notifications', 'v2'], timeoutMs: 5_000 });
    assert.equal(response.status, 304);
    assert.equal(response.body, '');
  }
  assert.equal(server.connections(), 1);
});

test('answers are read over one kept-alive connection, and a held long-poll does not hold up a fetch', async () => {
  const held: ServerResponse[] = [];
  const server = await serve((request, response) => {
    if (request.url?.startsWith('/notifications')) {
      held.push(response);
      return;
    }
    response.end('{"releaseKey":"r"}');
  });
  const poll = http.get({ baseUrl: server.url, path: ['notifications', 'v2'], timeoutMs: 10_000 });
  await waitUntil(() => held.length === 1, 5_000, 'the poll to be held');
  for (let round = 0; round < 3; round += 1) {
    const response = await http.get({ baseUrl: server.url, path: ['configs'], timeoutMs: 5_000 });
    assert.equal(response.body, '{"releaseKey":"r"}');
  }
  assert.equal(server.connections(), 2, 'one for the held poll, one for the three fetches');
  held[0]!.end('[]');
  assert.equal((await poll).body, '[]');
});

test('no answer within the deadline is a timeout; an aborted signal is an abort', async () => {
  const { url } = await serve(() => undefined);
  const timedOut = await failure(http.get({ baseUrl: url, path: ['configs'], timeoutMs: 200 }));
  assert.equal(timedOut.failure, 'timeout');
  assert.match(timedOut.message, /no answer within 200 ms/);
  const controller = new AbortController();
  const pending = http.get({ baseUrl: url, path: ['configs'], timeoutMs: 10_000, signal: controller.signal });
  controller.abort();
  assert.equal((await failure(pending)).failure, 'aborted');
});

test('user info in a base URL is neither sent nor shown', async () => {
  const server = await serve((_request, response) => {
    response.writeHead(500);
    response.end();
  });
  const baseUrl = server.url.replace('http://', 'http://admin:hunter2@');
  const response = await http.get({ baseUrl, path: ['configs'], timeoutMs: 5_000 });
  assert.equal(response.status, 500);
  assert.equal(response.url, `${server.url}/configs`);
  assert.equal(server.requests[0]!.headers.authorization, undefined);
  const refused = await failure(http.get({ baseUrl: 'http://admin:hunter2@127.0.0.1:9', path: ['configs'], timeoutMs: 5_000 }));
  assert.doesNotMatch(refused.message, /hunter2|admin/);
  assert.equal(refused.url, 'http://127.0.0.1:9/configs');
});
