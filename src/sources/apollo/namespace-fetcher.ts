import { z } from 'zod';
import { SourceError, errorMessage } from '../../domain/errors.js';
import type { Logger } from '../../observability/logger.js';
import type { AgentMetrics } from '../../observability/metrics.js';
import { ApolloRequestError, ResponseTooLargeError, type ApolloHttp } from './apollo-http.js';
import type { ConfigServiceLocator } from './config-service-locator.js';
import { parseNamespaceName, sameNamespace, type NamespaceName } from './namespace-name.js';
import type { NotificationMessages } from './notification-messages.js';

/** The full (never incremental) form of `GET /configs/...`. */
const apolloConfigSchema = z.object({
  appId: z.string(),
  cluster: z.string(),
  namespaceName: z.string(),
  configurations: z.record(z.string(), z.string()),
  releaseKey: z.string(),
});

export type FetchResult =
  | { readonly kind: 'ok'; readonly releaseKey: string; readonly configurations: Readonly<Record<string, string>> }
  /** The releaseKey sent is still current. */
  | { readonly kind: 'not_modified' }
  /** The namespace has no release: it is empty. */
  | { readonly kind: 'not_found' }
  /** The answer was not a usable release; it was logged and counted, keep what you had. */
  | { readonly kind: 'rejected'; readonly reason: string };

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

/**
 * `GET /configs/{appId}/{cluster}/{namespace}` with failover across config services. A 404
 * is an answer (no release), not an error, and is not retried elsewhere. Throws SourceError
 * only when no config service gave an answer.
 */
export class NamespaceFetcher {
  constructor(private readonly options: NamespaceFetcherOptions) {}

  async fetch(request: FetchRequest): Promise<FetchResult> {
    const { namespace } = request;
    const problems: string[] = [];
    const candidates = await this.#candidates(request, problems);
    for (const baseUrl of candidates) {
      if (request.signal?.aborted) break;
      try {
        const result = await this.#fetchFrom(baseUrl, request);
        if (result) {
          this.options.locator.reportSuccess(baseUrl);
          this.options.metrics.apolloFetches.inc({ result: result.kind === 'rejected' ? 'error' : result.kind });
          return result;
        }
      } catch (error) {
        if (error instanceof ApolloRequestError && error.failure === 'aborted') break;
        problems.push(errorMessage(error));
      }
      this.options.locator.reportFailure(baseUrl);
    }
    this.options.metrics.apolloFetches.inc({ result: 'error' });
    throw new SourceError(
      `could not fetch Apollo namespace ${namespace.configured}${problems.length > 0 ? `: ${problems.join('; ')}` : ''}`,
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

  /** The answer of one config service, or undefined when it failed (the caller moves on). */
  async #fetchFrom(baseUrl: string, request: FetchRequest): Promise<FetchResult | undefined> {
    const { namespace } = request;
    const { appId, cluster, ip, label, logger } = this.options;
    let response;
    try {
      response = await this.options.http.get({
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
    } catch (error) {
      if (error instanceof ResponseTooLargeError) return this.#reject(namespace, undefined, error.message);
      throw error;
    }
    logger.debug('Apollo config fetched', { namespace: namespace.configured, status: response.status, url: response.url });
    switch (response.status) {
      case 200:
        return this.#parse(namespace, response.body);
      case 304:
        return { kind: 'not_modified' };
      case 404:
        logger.warn('Apollo has no release for this namespace; treating it as empty', {
          namespace: namespace.configured,
          appId,
          cluster,
        });
        return { kind: 'not_found' };
      default:
        throw new Error(`${response.url} answered ${response.status}`);
    }
  }

  #parse(namespace: NamespaceName, body: string): FetchResult {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return this.#reject(namespace, undefined, 'body is not JSON');
    }
    const parsed = apolloConfigSchema.safeParse(json);
    if (!parsed.success) {
      return this.#reject(namespace, releaseKeyOf(json), `unexpected body: ${z.prettifyError(parsed.error)}`);
    }
    const config = parsed.data;
    if (!sameNamespace(parseNamespaceName(config.namespaceName).remote, namespace.remote)) {
      return this.#reject(namespace, config.releaseKey, `answer is for namespace ${config.namespaceName}`);
    }
    const configurations =
      namespace.format === 'properties' ? config.configurations : { content: config.configurations['content'] ?? '' };
    return { kind: 'ok', releaseKey: config.releaseKey, configurations };
  }

  #reject(namespace: NamespaceName, releaseKey: string | undefined, reason: string): FetchResult {
    this.options.logger.error('Apollo release rejected; keeping the last good content of the namespace', {
      namespace: namespace.configured,
      releaseKey,
      reason,
    });
    this.options.metrics.releasesRejected.inc({ namespace: namespace.configured });
    return { kind: 'rejected', reason };
  }
}

/** What little can be said about a release whose body has the wrong shape, for the log. */
function releaseKeyOf(json: unknown): string | undefined {
  if (typeof json === 'object' && json !== null && 'releaseKey' in json && typeof json.releaseKey === 'string') {
    return json.releaseKey;
  }
  return undefined;
}
