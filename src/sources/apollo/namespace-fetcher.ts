import { SourceError, errorMessage } from '../../domain/errors.js';
import { hashText } from '../../domain/hash.js';
import type { Logger } from '../../observability/logger.js';
import type { AgentMetrics } from '../../observability/metrics.js';
import { ApolloRequestError, type ApolloHttp } from './apollo-http.js';
import type { ConfigServiceLocator } from './config-service-locator.js';
import { parseNamespaceName, sameNamespace, type NamespaceName } from './namespace-name.js';
import type { NotificationMessages } from './notification-messages.js';

/** What Apollo answered for one namespace. Anything else it could have answered is a transport fault. */
export type FetchAnswer =
  | {
      readonly kind: 'release';
      readonly releaseKey: string;
      readonly configurations: Readonly<Record<string, string>>;
      /** Hash of the body as received: the content part of the release's identity. */
      readonly contentHash: string;
    }
  /** The releaseKey sent is still current. */
  | { readonly kind: 'not_modified' }
  /** No such app, cluster or namespace, or no release of it. */
  | { readonly kind: 'not_found' };

/**
 * No config service gave an answer Apollo gives: none reachable, a 5xx, a redirect, or a body
 * that is not a release (not JSON, truncated, an HTML page, the wrong shape, too large). Retried
 * with backoff; nothing of it is ever applied.
 */
export class ApolloTransportError extends SourceError {
  override readonly name = 'ApolloTransportError';
}

export interface FetchRequest {
  readonly namespace: NamespaceName;
  /** The releaseKey of the content held now; omitted, the server always answers in full. */
  readonly releaseKey?: string;
  readonly messages?: NotificationMessages;
  readonly signal?: AbortSignal;
}

export interface NamespaceFetcherOptions {
  readonly appId: string;
  readonly cluster: string;
  readonly ip?: string;
  readonly label?: string;
  readonly http: ApolloHttp;
  readonly locator: ConfigServiceLocator;
  readonly requestTimeoutMs: number;
  readonly logger: Logger;
  readonly metrics: AgentMetrics;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The full (never incremental) form of `GET /configs/...`, read by hand rather than by a schema:
 * a schema's record drops a key named `__proto__`, which a properties namespace may hold.
 * Returns the problem, or the release.
 */
function readRelease(body: string, namespace: NamespaceName): string | { releaseKey: string; configurations: Record<string, string> } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return 'the body is not JSON';
  }
  if (!isRecord(json)) return 'the body is not a release object';
  const { releaseKey, namespaceName, configurations } = json;
  if (typeof releaseKey !== 'string' || typeof namespaceName !== 'string' || !isRecord(configurations)) {
    return 'the body is not a release (releaseKey, namespaceName and configurations expected)';
  }
  if (!sameNamespace(parseNamespaceName(namespaceName).remote, namespace.remote)) return `the answer is for namespace ${namespaceName}`;
  for (const key of Object.keys(configurations)) {
    if (typeof configurations[key] !== 'string') return `configurations.${key} is not a string`;
  }
  // JSON.parse defined every key as an own property, `__proto__` included.
  return { releaseKey, configurations: configurations as Record<string, string> };
}

/**
 * `GET /configs/{appId}/{cluster}/{namespace}` with failover across config services: a service
 * that answers what Apollo does not send is skipped like one that is down. A 404 is an answer.
 * Throws ApolloTransportError when no config service gave an answer.
 */
export class NamespaceFetcher {
  constructor(private readonly options: NamespaceFetcherOptions) {}

  async fetch(request: FetchRequest): Promise<FetchAnswer> {
    const problems: string[] = [];
    const candidates = await this.#candidates(request, problems);
    for (const baseUrl of candidates) {
      if (request.signal?.aborted) break;
      try {
        const answer = await this.#fetchFrom(baseUrl, request);
        this.options.locator.reportSuccess(baseUrl);
        this.options.metrics.apolloFetches.inc({ result: answer.kind === 'release' ? 'ok' : answer.kind });
        return answer;
      } catch (error) {
        if (error instanceof ApolloRequestError && error.failure === 'aborted') break;
        problems.push(errorMessage(error));
      }
      this.options.locator.reportFailure(baseUrl);
    }
    this.options.metrics.apolloFetches.inc({ result: 'error' });
    throw new ApolloTransportError(
      `could not fetch Apollo namespace ${request.namespace.configured}${problems.length > 0 ? `: ${problems.join('; ')}` : ''}`,
      'apollo',
    );
  }

  async #candidates(request: FetchRequest, problems: string[]): Promise<readonly string[]> {
    try {
      return await this.options.locator.candidates(request.signal);
    } catch (error) {
      problems.push(errorMessage(error));
      return [];
    }
  }

  /** The answer of one config service; throws when it gave none Apollo gives. */
  async #fetchFrom(baseUrl: string, request: FetchRequest): Promise<FetchAnswer> {
    const { namespace } = request;
    const { appId, cluster, ip, label, logger } = this.options;
    const response = await this.options.http.get({
      baseUrl,
      path: ['configs', appId, cluster, namespace.remote],
      query: {
        releaseKey: request.releaseKey,
        ip,
        label,
        messages: request.messages ? JSON.stringify(request.messages) : undefined,
      },
      timeoutMs: this.options.requestTimeoutMs,
      signal: request.signal,
    });
    logger.debug('Apollo config fetched', { namespace: namespace.configured, status: response.status, url: response.url });
    switch (response.status) {
      case 200: {
        const release = readRelease(response.body, namespace);
        if (typeof release === 'string') throw new Error(`${response.url} answered 200 with what Apollo does not send: ${release}`);
        return { kind: 'release', ...release, contentHash: hashText(response.body) };
      }
      case 304:
        return { kind: 'not_modified' };
      case 404:
        return { kind: 'not_found' };
      default:
        throw new Error(`${response.url} answered ${response.status}`);
    }
  }
}
