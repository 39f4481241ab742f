import type { Logger } from '../../observability/logger.js';
import { signatureHeaders } from './signature.js';

export type FetchImpl = typeof fetch;

/** Why a request produced no usable response. */
export type RequestFailure = 'timeout' | 'aborted' | 'network' | 'redirect';

/** No response at all: the config service is down, unreachable, too slow, or we gave up. */
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
  readonly fetchImpl?: FetchImpl;
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
 * GET requests to Apollo: URL building, signing, a deadline per request, a body size cap.
 * It also owns the one place where an access-key rejection is reported, so that a streak
 * of 401s from the poller and the fetches together produces a single clear error.
 */
export class ApolloHttp {
  readonly #fetch: FetchImpl;
  #unauthorizedStreak = false;

  constructor(private readonly options: ApolloHttpOptions) {
    this.#fetch = options.fetchImpl ?? fetch;
  }

  async get(request: ApolloGet): Promise<ApolloResponse> {
    const url = buildUrl(request.baseUrl, request.path, request.query);
    const href = url.href;
    const headers: Record<string, string> = { Accept: 'application/json' };
    const secret = this.options.accessKeySecret;
    if (secret && request.signed !== false) {
      Object.assign(headers, signatureHeaders(this.options.appId, secret, `${url.pathname}${url.search}`));
    }

    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, request.timeoutMs);
    timer.unref();
    const onAbort = (): void => controller.abort();
    request.signal?.addEventListener('abort', onAbort, { once: true });
    if (request.signal?.aborted) controller.abort();

    try {
      // A redirect is never followed: Apollo does not send one, and following it would take
      // configuration from whatever host it names.
      const response = await this.#fetch(href, { method: 'GET', headers, signal: controller.signal, redirect: 'manual' });
      if (response.status >= 300 && response.status < 400 && response.status !== 304) {
        await response.body?.cancel().catch(() => undefined);
        const location = response.headers.get('location') ?? '(no Location)';
        throw new ApolloRequestError(`GET ${href} answered ${response.status} redirecting to ${location}; redirects are refused`, href, 'redirect');
      }
      this.#noteStatus(response.status, href);
      if (response.status < 200 || response.status >= 300) {
        await response.body?.cancel().catch(() => undefined);
        return { status: response.status, body: '', url: href };
      }
      const body = await readLimited(response, this.options.maxBodyBytes, href);
      return { status: response.status, body, url: href };
    } catch (error) {
      if (error instanceof ResponseTooLargeError || (error instanceof ApolloRequestError && error.failure === 'redirect')) throw error;
      const failure: RequestFailure = timedOut ? 'timeout' : request.signal?.aborted ? 'aborted' : 'network';
      const detail = failure === 'timeout' ? `no answer within ${request.timeoutMs} ms` : describe(error);
      throw new ApolloRequestError(`GET ${href} failed: ${detail}`, href, failure, { cause: error });
    } finally {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
    }
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

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // undici reports "fetch failed" and hides the socket error in `cause`.
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}

async function readLimited(response: Response, limit: number, url: string): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw new ResponseTooLargeError(url, limit);
  }
  if (!response.body) return '';
  // A declared length of an unencoded body is enforced by the HTTP framing, so the body cannot
  // outgrow it: read it whole, without a promise per chunk (the usual case). fetch decodes a
  // gzip/br body, whose Content-Length is the compressed size: that one is counted as it decodes.
  const encoding = response.headers.get('content-encoding');
  if (Number.isFinite(declared) && (encoding === null || encoding === 'identity')) return response.text();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw new ResponseTooLargeError(url, limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
