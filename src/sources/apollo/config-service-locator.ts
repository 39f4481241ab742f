import { z } from 'zod';
import { SourceError, errorMessage } from '../../domain/errors.js';
import type { Logger } from '../../observability/logger.js';
import type { ApolloHttp } from './apollo-http.js';
import { isHttpUrl } from '../../domain/http-url.js';

/** `GET {meta}/services/config`: Eureka's view of the config services. */
const serviceListSchema = z.array(
  z.object({
    appName: z.string().optional(),
    instanceId: z.string().optional(),
    homepageUrl: z.string(),
  }),
);

export interface ConfigServiceLocatorOptions {
  /** Used as given, skipping the meta server (apollo-java `apollo.config-service`). */
  readonly configServices?: readonly string[];
  /** Meta server URLs, tried in random order until one answers with a usable list. */
  readonly meta?: readonly string[];
  readonly appId: string;
  readonly ip?: string;
  readonly http: ApolloHttp;
  readonly logger: Logger;
  readonly refreshIntervalMs: number;
  readonly requestTimeoutMs: number;
  readonly random?: () => number;
  readonly now?: () => number;
}

function normalize(url: string): string {
  return url.trim().replace(/\/+$/, '');
}

/**
 * Which config services to talk to, in which order. Like apollo-java's ConfigServiceLocator:
 * a random instance per request, another one after an error, the meta list refreshed every
 * few minutes, and the last known list kept while the meta server is unreachable.
 */
export class ConfigServiceLocator {
  readonly #direct: readonly string[] | undefined;
  readonly #meta: readonly string[];
  readonly #random: () => number;
  readonly #now: () => number;
  #services: readonly string[] = [];
  #refreshedAt = Number.NEGATIVE_INFINITY;
  #refreshing: Promise<void> | undefined;
  readonly #failed = new Set<string>();

  constructor(private readonly options: ConfigServiceLocatorOptions) {
    const direct = (options.configServices ?? []).map(normalize).filter((url) => url !== '');
    this.#direct = direct.length > 0 ? direct : undefined;
    this.#meta = (options.meta ?? []).map(normalize).filter((url) => url !== '');
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Every known config service, shuffled, those that failed last placed after the rest: the
   * caller tries them in order. Throws SourceError when no config service is known at all.
   */
  async candidates(signal?: AbortSignal): Promise<readonly string[]> {
    if (this.#direct) return this.#order(this.#direct);
    if (this.#services.length === 0 || this.#now() - this.#refreshedAt >= this.options.refreshIntervalMs) {
      this.#refreshing ??= this.#refresh(signal).finally(() => {
        this.#refreshing = undefined;
      });
      await this.#refreshing;
    }
    if (this.#services.length === 0) {
      throw new SourceError(`no Apollo config service known: meta server ${this.#meta.join(', ')} gave none`, 'apollo');
    }
    return this.#order(this.#services);
  }

  reportFailure(url: string): void {
    this.#failed.add(url);
  }

  reportSuccess(url: string): void {
    this.#failed.delete(url);
  }

  #order(services: readonly string[]): string[] {
    const healthy = shuffle(services.filter((url) => !this.#failed.has(url)), this.#random);
    const failed = shuffle(services.filter((url) => this.#failed.has(url)), this.#random);
    return [...healthy, ...failed];
  }

  async #refresh(signal?: AbortSignal): Promise<void> {
    const problems: string[] = [];
    for (const meta of shuffle(this.#meta, this.#random)) {
      if (signal?.aborted) return;
      try {
        const services = await this.#ask(meta, signal);
        this.#refreshedAt = this.#now();
        if (services.join(',') !== this.#services.join(',')) {
          this.options.logger.info('Apollo config services discovered', { meta, configServices: services });
        }
        this.#services = services;
        for (const url of this.#failed) if (!services.includes(url)) this.#failed.delete(url);
        return;
      } catch (error) {
        problems.push(`${meta}: ${errorMessage(error)}`);
      }
    }
    // Wait a full interval before asking again only while a list is known; without one
    // every request asks, and the callers' backoff keeps that from spinning.
    this.#refreshedAt = this.#now();
    this.options.logger.warn(
      this.#services.length > 0 ? 'Apollo meta server unreachable, keeping the last known config services' : 'Apollo meta server unreachable',
      { meta: this.#meta, configServices: this.#services, problems },
    );
  }

  async #ask(meta: string, signal?: AbortSignal): Promise<string[]> {
    const response = await this.options.http.get({
      baseUrl: meta,
      path: ['services', 'config'],
      query: { appId: this.options.appId, ip: this.options.ip },
      timeoutMs: this.options.requestTimeoutMs,
      signed: false,
      signal,
    });
    if (response.status !== 200) throw new Error(`status ${response.status}`);
    let json: unknown;
    try {
      json = JSON.parse(response.body);
    } catch {
      throw new Error('body is not JSON');
    }
    const parsed = serviceListSchema.safeParse(json);
    if (!parsed.success) throw new Error(`unexpected body: ${z.prettifyError(parsed.error)}`);
    const services = [...new Set(parsed.data.map((entry) => normalize(entry.homepageUrl)).filter(isHttpUrl))];
    if (services.length === 0) throw new Error('no config service listed');
    return services;
  }
}

function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    const a = out[i] as T;
    out[i] = out[j] as T;
    out[j] = a;
  }
  return out;
}
