import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Logger } from '../../observability/logger.js';
import { signatureHeaders } from './signature.js';

/**
 * Why a request produced no usable response. `redirect`: the server answered 3xx (other than
 * 304) pointing elsewhere, which is never followed: the agent talks only to the config services
 * it was given or discovered.
 */
export type RequestFailure = 'timeout' | 'aborted' | 'network' | 'redirect';

/** No usable response: the config service is down, unreachable, too slow, redirected us, or we gave up. */
export class ApolloRequestError extends Error {
  override readonly name = 'ApolloRequestError';
  constructor(
    message: string,
    readonly url: string,
    readonly failure: RequestFailure,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A body over the size limit: read no further, it will not be used. */
export class ResponseTooLargeError extends Error {
  override readonly name = 'ResponseTooLargeError';
  constructor(
    readonly url: string,
    readonly limitBytes: number,
  ) {
    super(`response body exceeds ${limitBytes} bytes`);
  }
}

export interface ApolloGet {
  readonly baseUrl: string;
  /** Raw path segments; each is URL-encoded here, so a `/` in a name stays inside its segment. */
  readonly path: readonly string[];
  /** Undefined values are left out; every value is URL-encoded. */
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** The meta server is not behind the access key; config-service endpoints are. */
  readonly signed?: boolean;
}

export interface ApolloResponse {
  readonly status: number;
  /** Read only for 2xx answers; empty otherwise. */
  readonly body: string;
  readonly url: string;
}

export interface ApolloHttpOptions {
  readonly appId: string;
  readonly accessKeySecret?: string;
  readonly maxBodyBytes: number;
  readonly logger: Logger;
}

/** The URL as logs and errors show it: user info never leaves the process. */
export function displayUrl(url: URL): string {
  if (url.username === '' && url.password === '') return url.href;
  const shown = new URL(url.href);
  shown.username = '';
  shown.password = '';
  return shown.href;
}

export function buildUrl(baseUrl: string, path: readonly string[], query: Readonly<Record<string, string | undefined>> = {}): URL {
  const base = baseUrl.replace(/\/+$/, '');
  const encodedPath = path.map((segment) => encodeURIComponent(segment)).join('/');
  const params = Object.entries(query)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
    .join('&');
  return new URL(`${base}/${encodedPath}${params ? `?${params}` : ''}`);
}

/**
 * Sockets per origin: the long-poll holds one for up to its 90 s read timeout, so fetches and meta
 * lookups have the others and never wait behind it.
 */
const MAX_SOCKETS_PER_ORIGIN = 4;
/** An idle kept-alive socket is closed after this, before a server's own idle timeout (often 5 s) can race a new request on it. */
const IDLE_SOCKET_MS = 4_000;
/** Content encodings read, each decoded as it streams in and counted decoded against the body limit. */
const DECODERS: Readonly<Record<string, () => NodeJS.ReadWriteStream>> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};
/** What fetch asked for before; `x-gzip` is only an old alias servers may answer with. */
const ACCEPT_ENCODING = 'gzip, deflate, br';

class Failure extends Error {
  constructor(
    readonly failure: RequestFailure,
    message: string,
  ) {
    super(message);
  }
}

/**
 * GET requests to Apollo over node:http/node:https with kept-alive connections: URL building,
 * signing, a deadline per request (answer and body), a body size cap counted after decoding.
 * Redirects are refused, not followed. It also owns the one place where an access-key rejection
 * is reported, so that a streak of 401s from the poller and the fetches together produces a
 * single clear error.
 */
export class ApolloHttp {
  readonly #httpAgent = new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS_PER_ORIGIN, timeout: IDLE_SOCKET_MS });
  readonly #httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: MAX_SOCKETS_PER_ORIGIN, timeout: IDLE_SOCKET_MS });
  #unauthorizedStreak = false;

  constructor(private readonly options: ApolloHttpOptions) {}

  async get(request: ApolloGet): Promise<ApolloResponse> {
    const url = buildUrl(request.baseUrl, request.path, request.query);
    const href = displayUrl(url);
    // Credentials in a URL are refused by configuration validation; here they are neither sent nor shown.
    url.username = '';
    url.password = '';
    const headers: OutgoingHttpHeaders = { Accept: 'application/json', 'Accept-Encoding': ACCEPT_ENCODING };
    const secret = this.options.accessKeySecret;
    if (secret && request.signed !== false) {
      Object.assign(headers, signatureHeaders(this.options.appId, secret, `${url.pathname}${url.search}`));
    }
    try {
      return await this.#exchange(url, href, headers, request);
    } catch (error) {
      if (error instanceof ResponseTooLargeError) throw error;
      const failure = error instanceof Failure ? error.failure : 'network';
      const detail = error instanceof Error ? error.message : String(error);
      throw new ApolloRequestError(`GET ${href} failed: ${detail}`, href, failure, { cause: error });
    }
  }

  #exchange(url: URL, href: string, headers: OutgoingHttpHeaders, request: ApolloGet): Promise<ApolloResponse> {
    return new Promise<ApolloResponse>((resolve, reject) => {
      const secure = url.protocol === 'https:';
      if (!secure && url.protocol !== 'http:') {
        reject(new Failure('network', `unsupported protocol ${url.protocol}`));
        return;
      }
      const cleanups: Array<() => void> = [];
      let settled = false;
      const settle = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        for (const cleanup of cleanups) cleanup();
        outcome();
      };
      // Destroying the request also destroys its socket and any response body still streaming.
      const fail = (error: Error): void => settle(() => {
        outgoing.destroy();
        reject(error);
      });

      const send = secure ? httpsRequest : httpRequest;
      // `timeout: 0` keeps the agent's idle-socket timeout off a socket while it carries this request.
      const outgoing = send(url, { method: 'GET', headers, agent: secure ? this.#httpsAgent : this.#httpAgent, timeout: 0 });
      const timer = setTimeout(() => fail(new Failure('timeout', `no answer within ${request.timeoutMs} ms`)), request.timeoutMs);
      timer.unref();
      cleanups.push(() => clearTimeout(timer));
      const signal = request.signal;
      if (signal) {
        const onAbort = (): void => fail(new Failure('aborted', 'aborted'));
        signal.addEventListener('abort', onAbort, { once: true });
        cleanups.push(() => signal.removeEventListener('abort', onAbort));
        if (signal.aborted) onAbort();
      }
      outgoing.on('error', (error) => fail(error));
      outgoing.on('response', (response) => {
        const status = response.statusCode ?? 0;
        this.#noteStatus(status, href);
        if (status >= 300 && status < 400 && status !== 304) {
          fail(new Failure('redirect', `answered ${status} ${redirectTarget(response, url)}; redirects are not followed`));
          return;
        }
        if (status < 200 || status >= 300) {
          // A 304 has no body, so its connection stays open for the next request; an error's
          // body is not read, and dropping its connection bounds what it can cost.
          if (status === 304) response.resume();
          else outgoing.destroy();
          settle(() => resolve({ status, body: '', url: href }));
          return;
        }
        readBody(response, this.options.maxBodyBytes, href, fail, (body) => settle(() => resolve({ status, body, url: href })));
      });
      outgoing.end();
    });
  }

  #noteStatus(status: number, url: string): void {
    if (status === 401) {
      if (!this.#unauthorizedStreak) {
        this.#unauthorizedStreak = true;
        this.options.logger.error(
          'Apollo rejected the request signature (401): check the appId and the access key secret, and that this host\'s clock is within 60 s of the config service',
          { appId: this.options.appId, url, status, signed: Boolean(this.options.accessKeySecret) },
        );
      }
    } else if (status < 400 || status === 404) {
      this.#unauthorizedStreak = false;
    }
  }
}

function redirectTarget(response: IncomingMessage, from: URL): string {
  const location = response.headers.location;
  if (location === undefined) return 'without a Location';
  try {
    return `to ${displayUrl(new URL(location, from))}`;
  } catch {
    return `to an invalid Location ${JSON.stringify(location.slice(0, 200))}`;
  }
}

/**
 * Reads a 2xx body into a string, at most `limit` bytes after decoding: a declared length over it
 * fails before reading, and a compressed body (whose Content-Length is the compressed size) is
 * counted as it decodes, so a small compressed answer that inflates past the limit stops there.
 */
function readBody(response: IncomingMessage, limit: number, url: string, fail: (error: Error) => void, done: (body: string) => void): void {
  const declared = Number(response.headers['content-length'] ?? Number.NaN);
  if (declared > limit) {
    fail(new ResponseTooLargeError(url, limit));
    return;
  }
  const encoding = (response.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  let body: Readable = response;
  if (encoding !== 'identity') {
    const decoder = DECODERS[encoding];
    if (!decoder) {
      fail(new Failure('network', `unsupported Content-Encoding ${JSON.stringify(encoding.slice(0, 100))}`));
      return;
    }
    const decoding = decoder() as unknown as Readable & NodeJS.WritableStream;
    response.pipe(decoding);
    decoding.on('error', (error) => stop(new Failure('network', `invalid ${encoding} body: ${error.message}`)));
    body = decoding;
  }
  // Destroying the request (in `fail`) ends the response; a decoder is stopped here, mid-inflation.
  const stop = (error: Error): void => {
    if (body !== response) body.destroy();
    fail(error);
  };
  const chunks: Buffer[] = [];
  let total = 0;
  body.on('data', (chunk: Buffer) => {
    total += chunk.length;
    if (total > limit) {
      stop(new ResponseTooLargeError(url, limit));
      return;
    }
    chunks.push(chunk);
  });
  body.on('end', () => done(Buffer.concat(chunks, total).toString('utf8')));
  response.on('error', (error) => stop(error));
  response.on('close', () => {
    if (!response.complete) stop(new Failure('network', 'the connection closed before the body was complete'));
  });
}
