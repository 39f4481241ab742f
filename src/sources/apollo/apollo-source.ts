import { errorMessage, SourceError } from '../../domain/errors.js';
import { freezeSnapshot, snapshotRevision, type NamespaceContent, type SourceSnapshot } from '../../domain/snapshot.js';
import type { Logger } from '../../observability/logger.js';
import type { AgentMetrics } from '../../observability/metrics.js';
import type { Source, SourceNamespaceStatus } from '../source.js';
import { ApolloHttp } from './apollo-http.js';
import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { ConfigServiceLocator } from './config-service-locator.js';
import { DeferredCacheWrites } from './deferred-cache-writes.js';
import { localIpv4 } from './local-ip.js';
import { NamespaceCache } from './namespace-cache.js';
import { NamespaceFetcher } from './namespace-fetcher.js';
import { parseNamespaceName } from './namespace-name.js';
import { NamespaceRepository } from './namespace-repository.js';
import { NotificationPoller, type NamespaceNotification } from './notification-poller.js';
import { sleep } from './sleep.js';

export const APOLLO_SOURCE_ID = 'apollo';

/** Validated by `src/config/` (or the embedding caller): nothing here checks them again. */
export interface ApolloSourceOptions {
  readonly appId: string;
  /** Default `default`. */
  readonly cluster?: string;
  /** Lowest priority first. */
  readonly namespaces: readonly string[];
  /** Config services used directly; skips the meta server. At least one of these two. */
  readonly configServices?: readonly string[];
  /** Meta server URLs. */
  readonly meta?: readonly string[];
  readonly accessKeySecret?: string;
  /** Grayscale label. */
  readonly label?: string;
  /** Default: the first non-internal IPv4 of the host. */
  readonly ip?: string;
  /** `<state-dir>/apollo-cache`; without it nothing is cached. Only releases the gate accepted are written. */
  readonly cacheDir?: string;
  /** false (`--cache-secrets=false`): a namespace holding secret-looking keys is not cached. Default true. */
  readonly cacheSecrets?: boolean;
  /**
   * How long a cache write waits after its release was emitted (it always waits for the turn in
   * which the release's pushes went out). Default 0: the longer a newer release is applied but
   * not cached, the longer a crash followed by a start with Apollo down would push an older one.
   */
  readonly cacheWriteDelayMs?: number;
  /** Full re-fetch of every namespace, a safety net under the long-poll. Default 5 min. */
  readonly refreshIntervalMs?: number;
  /** Read timeout of one long-poll. Default 90 s (the server holds 60 s). */
  readonly pollTimeoutMs?: number;
  /** Timeout of a `/configs` or meta request. Default 10 s. */
  readonly requestTimeoutMs?: number;
  /** How often the meta server is asked again. Default 5 min. */
  readonly metaRefreshIntervalMs?: number;
  /** Minimum spacing of long-poll starts. Default 500 ms (apollo-java polls at most 2 a second). */
  readonly minPollIntervalMs?: number;
  readonly backoff?: Partial<BackoffOptions>;
  /** A body above this is a transport fault (not what Apollo sends). Default 8 MiB. */
  readonly maxBodyBytes?: number;
  readonly logger: Logger;
  readonly metrics: AgentMetrics;
  /** Jitter and shuffling; injectable for deterministic tests. */
  readonly random?: () => number;
}

/**
 * Apollo as a Source, layered like apollo-java: the long-poll announces, each namespace's
 * repository fetches and holds its content, and this class only builds snapshots from what
 * the repositories hold. Nothing below calls back up: the poller and the repositories report
 * through listeners that return nothing, and this class tells them what to do next.
 */
export class ApolloSource implements Source {
  readonly id = APOLLO_SOURCE_ID;
  readonly #repositories: readonly NamespaceRepository[];
  readonly #http: ApolloHttp;
  readonly #locator: ConfigServiceLocator;
  readonly #cacheWrites: DeferredCacheWrites | undefined;
  readonly #backoff: BackoffOptions;
  readonly #cluster: string;
  readonly #ip: string | undefined;
  readonly #logger: Logger;
  /** The watcher's listener, while one watches. */
  #emit: ((observedAt: number) => void) | undefined;
  /** When the change now being fetched was announced: the start of release-to-apply latency. */
  #noticedAt: number | undefined;

  constructor(private readonly options: ApolloSourceOptions) {
    this.#cluster = options.cluster ?? 'default';
    this.#ip = options.ip ?? localIpv4();
    this.#logger = options.logger.child({ source: APOLLO_SOURCE_ID });
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.#http = new ApolloHttp({
      appId: options.appId,
      accessKeySecret: options.accessKeySecret,
      maxBodyBytes: options.maxBodyBytes ?? 8 * 1024 * 1024,
      logger: this.#logger,
    });
    this.#locator = new ConfigServiceLocator({
      configServices: options.configServices ?? [],
      meta: options.meta ?? [],
      appId: options.appId,
      ip: this.#ip,
      http: this.#http,
      logger: this.#logger,
      refreshIntervalMs: options.metaRefreshIntervalMs ?? 300_000,
      requestTimeoutMs,
      random: options.random,
    });
    const fetcher = new NamespaceFetcher({
      appId: options.appId,
      cluster: this.#cluster,
      ip: this.#ip,
      label: options.label,
      http: this.#http,
      locator: this.#locator,
      requestTimeoutMs,
      logger: this.#logger,
      metrics: options.metrics,
    });
    const cache = options.cacheDir
      ? new NamespaceCache({ dir: options.cacheDir, appId: options.appId, cluster: this.#cluster, logger: this.#logger, cacheSecrets: options.cacheSecrets ?? true })
      : undefined;
    this.#cacheWrites = cache ? new DeferredCacheWrites(cache, options.cacheWriteDelayMs ?? 0, options.metrics) : undefined;
    this.#repositories = options.namespaces.map(
      (namespace) =>
        new NamespaceRepository({
          name: parseNamespaceName(namespace),
          appId: options.appId,
          cluster: this.#cluster,
          fetcher,
          ...(cache ? { cache } : {}),
          ...(this.#cacheWrites ? { cacheWrites: this.#cacheWrites } : {}),
          backoff: this.#backoff,
          logger: this.#logger,
          onContent: () => this.#emit?.(this.#noticedAt ?? Date.now()),
          random: options.random,
        }),
    );
  }

  async load(signal?: AbortSignal): Promise<SourceSnapshot> {
    const observedAt = Date.now();
    const results = await Promise.allSettled(this.#repositories.map((repository) => repository.load(signal)));
    const problems = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
    if (problems.length === 1 && problems[0] instanceof SourceError) throw problems[0];
    if (problems.length > 0) throw new SourceError(problems.map(errorMessage).join('; '), APOLLO_SOURCE_ID);
    const namespaces = results.map((result) => (result as PromiseFulfilledResult<NamespaceContent>).value);
    return freezeSnapshot({ sourceId: APOLLO_SOURCE_ID, revision: snapshotRevision(namespaces), namespaces, observedAt });
  }

  async watch(listener: (snapshot: SourceSnapshot) => void, signal: AbortSignal): Promise<void> {
    if (this.#emit) throw new Error('ApolloSource is already watched');
    this.#emit = this.#emitter(listener);
    const poller = new NotificationPoller({
      appId: this.options.appId,
      cluster: this.#cluster,
      ip: this.#ip,
      namespaces: this.#repositories.map((repository) => repository.name.remote),
      http: this.#http,
      locator: this.#locator,
      pollTimeoutMs: this.options.pollTimeoutMs ?? 90_000,
      minPollIntervalMs: this.options.minPollIntervalMs ?? 500,
      backoff: this.#backoff,
      logger: this.#logger,
      metrics: this.options.metrics,
      random: this.options.random,
    });
    const syncs = new Syncs();
    try {
      syncs.add(Promise.all(this.#repositories.map((repository) => repository.sync(undefined, signal))));
      // The long-poll starts once every namespace was tried once: its first answer (to id -1) names them all.
      await Promise.all(this.#repositories.map((repository) => repository.attempted));
      await Promise.all([
        poller.run((changes, observedAt) => syncs.add(this.#onNotified(poller, changes, observedAt, signal)), signal),
        this.#refreshLoop(signal, syncs),
      ]);
    } finally {
      await syncs.settled();
      this.#emit = undefined;
      await this.#cacheWrites?.flush();
    }
  }

  status(): readonly SourceNamespaceStatus[] {
    return this.#repositories.map((repository) => repository.status());
  }

  async accepted(release: NamespaceContent): Promise<void> {
    await this.#repositories.find((repository) => repository.content === release)?.accepted(release);
  }

  /** Each announced namespace syncs; what its fetch found tells the poller whether to trust the id. */
  async #onNotified(poller: NotificationPoller, changes: readonly NamespaceNotification[], observedAt: number, signal: AbortSignal): Promise<void> {
    this.#noticedAt ??= observedAt;
    await Promise.all(
      changes.map(async (change) => {
        const repository = this.#repositories.find((candidate) => candidate.name.remote === change.namespace);
        if (!repository) return;
        const result = await repository.sync(change.messages, signal);
        if (result !== 'aborted') poller.settle(change.namespace, change.notificationId, result === 'changed');
      }),
    );
    this.#noticedAt = undefined;
  }

  /** Every refreshIntervalMs every namespace is fetched again, in case a notification was missed. */
  async #refreshLoop(signal: AbortSignal, syncs: Syncs): Promise<void> {
    const refreshIntervalMs = this.options.refreshIntervalMs ?? 300_000;
    while (!signal.aborted) {
      await sleep(refreshIntervalMs, signal);
      if (signal.aborted) break;
      this.#logger.debug('Apollo periodic refresh', { namespaces: this.#repositories.map((repository) => repository.name.configured) });
      await syncs.add(Promise.all(this.#repositories.map((repository) => repository.sync(undefined, signal))));
    }
  }

  /**
   * For the watcher: a snapshot once every namespace holds content, then whenever one holds a
   * different release (the repositories keep the held object for the same release).
   */
  #emitter(listener: (snapshot: SourceSnapshot) => void): (observedAt: number) => void {
    let lastEmitted: readonly (NamespaceContent | undefined)[] = [];
    let reportedMissing = false;
    return (observedAt) => {
      const current = this.#repositories.map((repository) => repository.content);
      if (current.every((content, index) => content === lastEmitted[index])) return;
      const missing = this.#repositories.filter((repository) => repository.content === undefined);
      if (missing.length > 0) {
        if (!reportedMissing) {
          this.#logger.warn('Apollo snapshot incomplete; waiting for namespaces', { namespaces: missing.map((repository) => repository.name.configured) });
        }
        reportedMissing = true;
        return;
      }
      lastEmitted = current;
      const namespaces = current as NamespaceContent[];
      const snapshot = freezeSnapshot({ sourceId: APOLLO_SOURCE_ID, revision: snapshotRevision(namespaces), namespaces, observedAt });
      this.#logger.debug('Apollo snapshot emitted', { revision: snapshot.revision });
      try {
        listener(snapshot);
      } catch (error) {
        this.#logger.error('Apollo snapshot listener failed', { error: errorMessage(error) });
      }
    };
  }
}

/** The syncs under way, so that a stopped watch waits for them (and nothing else is kept). */
class Syncs {
  readonly #running = new Set<Promise<unknown>>();

  add<T>(sync: Promise<T>): Promise<T> {
    const tracked = sync.finally(() => this.#running.delete(tracked));
    this.#running.add(tracked);
    return sync;
  }

  async settled(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }
}
