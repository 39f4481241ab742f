import { setImmediate } from 'node:timers/promises';
import { z } from 'zod';
import { ConfigError, SourceError, errorMessage } from '../../domain/errors.js';
import { freezeSnapshot, snapshotRevision, type NamespaceContent, type SourceSnapshot } from '../../domain/snapshot.js';
import type { Logger } from '../../observability/logger.js';
import type { AgentMetrics } from '../../observability/metrics.js';
import type { Source } from '../source.js';
import { ApolloHttp } from './apollo-http.js';
import { BackoffStreak, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { ConfigServiceLocator } from './config-service-locator.js';
import { localIpv4 } from './local-ip.js';
import { DeferredCacheWrites } from './deferred-cache-writes.js';
import { NamespaceCache, type CachedNamespace } from './namespace-cache.js';
import { NamespaceFetcher } from './namespace-fetcher.js';
import { parseNamespaceName, type NamespaceName } from './namespace-name.js';
import type { NotificationMessages } from './notification-messages.js';
import { NotificationPoller, type NamespaceNotification } from './notification-poller.js';
import { sleep } from './sleep.js';

export const APOLLO_SOURCE_ID = 'apollo';

export interface ApolloSourceOptions {
  readonly appId: string;
  /** Default `default`. */
  readonly cluster?: string;
  /** Lowest priority first. */
  readonly namespaces: readonly string[];
  /** Config services used directly (comma lists allowed); skips the meta server. */
  readonly configServices?: readonly string[];
  /** Meta server URL(s), comma-separated or a list. */
  readonly meta?: string | readonly string[];
  readonly accessKeySecret?: string;
  /** Grayscale label. */
  readonly label?: string;
  /** Default: the first non-internal IPv4 of the host. */
  readonly ip?: string;
  /** `<state-dir>/apollo-cache`; without it nothing is cached. */
  readonly cacheDir?: string;
  /** false (`--cache-secrets=false`): a namespace holding secret-looking keys is not cached. Default true. */
  readonly cacheSecrets?: boolean;
  /** Read the cache but never write it: dry runs change nothing on disk. */
  readonly cacheReadOnly?: boolean;
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
  /** A body above this is a rejected release. Default 8 MiB. */
  readonly maxBodyBytes?: number;
  readonly logger: Logger;
  readonly metrics: AgentMetrics;
  /** Jitter and shuffling; injectable for deterministic tests. */
  readonly random?: () => number;
}

interface HeldContent {
  readonly releaseKey: string;
  readonly configurations: Readonly<Record<string, string>>;
  readonly origin: 'apollo' | 'cache';
}

interface NamespaceState {
  readonly name: NamespaceName;
  content?: HeldContent;
  /** Sent as `releaseKey` so an unchanged release costs a 304; only what Apollo itself gave us. */
  remoteReleaseKey?: string;
  /** The last fetch got no answer from any config service: retried with backoff. */
  failing: boolean;
  lastError?: string;
}

/** Timing and size options: a zero timeout or backoff would turn a loop into a spin. */
const tuningSchema = z.object({
  refreshIntervalMs: z.number().positive().optional(),
  pollTimeoutMs: z.number().positive().optional(),
  requestTimeoutMs: z.number().positive().optional(),
  metaRefreshIntervalMs: z.number().min(0).optional(),
  minPollIntervalMs: z.number().min(0).optional(),
  maxBodyBytes: z.number().int().positive().optional(),
  cacheWriteDelayMs: z.number().min(0).optional(),
  backoff: z
    .object({ initialMs: z.number().positive().optional(), maxMs: z.number().positive().optional() })
    .optional(),
});

type SyncResult = 'settled' | 'failed';

/** Offers the current content to one watcher; `observedAt` is when the change was noticed. */
type Emit = (observedAt: number) => void;

function splitList(values: string | readonly string[] | undefined): string[] {
  const list = typeof values === 'string' ? [values] : (values ?? []);
  return list.flatMap((value) => value.split(',')).map((value) => value.trim()).filter((value) => value !== '');
}

function sameEntries(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}

/**
 * Apollo as a Source: the long-poll announces changes, only the namespaces that changed are
 * fetched, every good release goes to the local cache, and the cache stands in while no
 * config service answers. Snapshots are emitted only when some namespace's content changed.
 */
export class ApolloSource implements Source {
  readonly id = APOLLO_SOURCE_ID;
  readonly #states: readonly NamespaceState[];
  readonly #http: ApolloHttp;
  readonly #locator: ConfigServiceLocator;
  readonly #fetcher: NamespaceFetcher;
  readonly #cache: NamespaceCache | undefined;
  readonly #cacheWrites: DeferredCacheWrites | undefined;
  readonly #backoff: BackoffOptions;
  readonly #cluster: string;
  readonly #ip: string | undefined;
  readonly #logger: Logger;
  #queue: Promise<unknown> = Promise.resolve();
  /** Releases accepted since the last emit: logged and handed to the cache after it, so neither delays a release. */
  readonly #accepted = new Map<NamespaceState, CachedNamespace & { readonly previousReleaseKey: string | undefined }>();
  #poller: NotificationPoller | undefined;

  constructor(private readonly options: ApolloSourceOptions) {
    const problems: string[] = [];
    if (options.appId.trim() === '') problems.push('appId: required');
    if (options.namespaces.length === 0) problems.push('namespaces: at least one');
    const names = options.namespaces.map(parseNamespaceName);
    const seen = new Set<string>();
    for (const name of names) {
      const key = name.remote.toLowerCase();
      if (seen.has(key)) problems.push(`namespaces: ${name.configured} is listed twice (Apollo names are case-insensitive)`);
      seen.add(key);
    }
    const tuning = tuningSchema.safeParse(options);
    if (!tuning.success) problems.push(...tuning.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
    const configServices = splitList(options.configServices);
    const meta = splitList(options.meta);
    if (configServices.length === 0 && meta.length === 0) problems.push('a config service URL or a meta server URL is required');
    if (problems.length > 0) throw new ConfigError('invalid Apollo source options', problems);

    this.#cluster = options.cluster ?? 'default';
    this.#ip = options.ip ?? localIpv4();
    this.#logger = options.logger.child({ source: APOLLO_SOURCE_ID });
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.#states = names.map((name) => ({ name, failing: false }));
    const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.#http = new ApolloHttp({
      appId: options.appId,
      accessKeySecret: options.accessKeySecret,
      maxBodyBytes: options.maxBodyBytes ?? 8 * 1024 * 1024,
      logger: this.#logger,
    });
    this.#locator = new ConfigServiceLocator({
      configServices,
      meta,
      appId: options.appId,
      ip: this.#ip,
      http: this.#http,
      logger: this.#logger,
      refreshIntervalMs: options.metaRefreshIntervalMs ?? 300_000,
      requestTimeoutMs,
      random: options.random,
    });
    this.#fetcher = new NamespaceFetcher({
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
    this.#cache = options.cacheDir
      ? new NamespaceCache({ dir: options.cacheDir, appId: options.appId, cluster: this.#cluster, logger: this.#logger, metrics: options.metrics, cacheSecrets: options.cacheSecrets ?? true })
      : undefined;
    this.#cacheWrites = this.#cache && !options.cacheReadOnly ? new DeferredCacheWrites(this.#cache, options.cacheWriteDelayMs ?? 0) : undefined;
  }

  async load(signal?: AbortSignal): Promise<SourceSnapshot> {
    const observedAt = Date.now();
    await this.#serial(async () => {
      await this.#sync(this.#states, signal);
      await this.#afterEmit();
    });
    await this.#cacheWrites?.flush();
    const missing = this.#states.filter((state) => !state.content);
    if (missing.length > 0) {
      const details = missing.map((state) => `${state.name.configured} (${state.lastError ?? 'release rejected'})`);
      throw new SourceError(
        `Apollo namespace(s) available neither from Apollo nor from the local cache: ${details.join('; ')}`,
        APOLLO_SOURCE_ID,
      );
    }
    return this.#snapshot(observedAt);
  }

  async watch(listener: (snapshot: SourceSnapshot) => void, signal: AbortSignal): Promise<void> {
    const poller = new NotificationPoller({
      appId: this.options.appId,
      cluster: this.#cluster,
      ip: this.#ip,
      namespaces: this.#states.map((state) => state.name.remote),
      http: this.#http,
      locator: this.#locator,
      pollTimeoutMs: this.options.pollTimeoutMs ?? 90_000,
      minPollIntervalMs: this.options.minPollIntervalMs ?? 500,
      backoff: this.#backoff,
      logger: this.#logger,
      metrics: this.options.metrics,
      random: this.options.random,
    });
    this.#poller = poller;
    const emit = this.#emitter(listener);
    try {
      const observedAt = Date.now();
      await this.#serial(async () => {
        await this.#sync(this.#states, signal);
        if (!signal.aborted) emit(observedAt);
        await this.#afterEmit();
      });
      if (signal.aborted) return;
      await Promise.all([
        poller.run((changes, polledAt) => this.#serial(() => this.#onNotified(changes, polledAt, emit, signal)), signal),
        this.#refreshLoop(emit, signal),
      ]);
    } finally {
      if (this.#poller === poller) this.#poller = undefined;
      await this.#queue;
      await this.#cacheWrites?.flush();
    }
  }

  async #onNotified(
    changes: readonly NamespaceNotification[],
    observedAt: number,
    emit: Emit,
    signal: AbortSignal,
  ): Promise<ReadonlySet<string>> {
    const settled = new Set<string>();
    await Promise.all(
      changes.map(async (change) => {
        const state = this.#states.find((candidate) => candidate.name.remote === change.namespace);
        if (!state) return;
        if ((await this.#syncOne(state, change.messages, signal)) === 'settled') settled.add(change.namespace);
      }),
    );
    if (!signal.aborted) emit(observedAt);
    await this.#afterEmit();
    return settled;
  }

  /**
   * Retries namespaces that no config service answered for (with backoff), and re-fetches
   * everything every refreshIntervalMs in case a notification was missed.
   */
  async #refreshLoop(emit: Emit, signal: AbortSignal): Promise<void> {
    const refreshIntervalMs = this.options.refreshIntervalMs ?? 300_000;
    const streak = new BackoffStreak(this.#backoff, this.options.random);
    let lastFull = Date.now();
    while (!signal.aborted) {
      const failing = this.#states.some((state) => state.failing);
      if (!failing) streak.succeed();
      const delay = failing ? streak.fail() : lastFull + refreshIntervalMs - Date.now();
      await sleep(delay, signal);
      if (signal.aborted) break;
      const full = Date.now() - lastFull >= refreshIntervalMs;
      const targets = full ? this.#states : this.#states.filter((state) => state.failing);
      if (targets.length === 0) continue;
      if (full) lastFull = Date.now();
      const observedAt = Date.now();
      this.#logger.debug(full ? 'Apollo periodic refresh' : 'Apollo retrying namespaces that could not be fetched', {
        namespaces: targets.map((state) => state.name.configured),
        attempt: streak.failures,
      });
      await this.#serial(async () => {
        await this.#sync(targets, signal);
        if (!signal.aborted) emit(observedAt);
        await this.#afterEmit();
      });
    }
  }

  async #sync(states: readonly NamespaceState[], signal?: AbortSignal): Promise<void> {
    await Promise.all(states.map((state) => this.#syncOne(state, this.#poller?.messagesFor(state.name.remote), signal)));
  }

  async #syncOne(state: NamespaceState, messages: NotificationMessages | undefined, signal?: AbortSignal): Promise<SyncResult> {
    const namespace = state.name.configured;
    let result;
    try {
      result = await this.#fetcher.fetch({ namespace: state.name, releaseKey: state.remoteReleaseKey, messages, signal });
    } catch (error) {
      if (signal?.aborted) return 'failed';
      state.failing = true;
      state.lastError = errorMessage(error);
      this.#logger.warn('Apollo namespace could not be fetched', { namespace, releaseKey: state.remoteReleaseKey, error: state.lastError });
      await this.#fallBackToCache(state);
      return 'failed';
    }
    state.failing = false;
    state.lastError = undefined;
    switch (result.kind) {
      case 'ok':
        this.#accept(state, result.releaseKey, result.configurations);
        state.remoteReleaseKey = result.releaseKey;
        break;
      case 'not_found':
        this.#accept(state, '', {});
        state.remoteReleaseKey = undefined;
        break;
      case 'rejected':
        await this.#fallBackToCache(state);
        break;
      case 'not_modified':
        break;
    }
    return 'settled';
  }

  #accept(state: NamespaceState, releaseKey: string, fetched: Readonly<Record<string, string>>): void {
    const previous = state.content;
    const unchanged = previous !== undefined && sameEntries(previous.configurations, fetched);
    // Equal entries keep the held object, so that watchers see "no change" by identity alone.
    const configurations = unchanged ? previous.configurations : Object.freeze(fetched);
    state.content = { releaseKey, configurations, origin: 'apollo' };
    if (unchanged && previous.releaseKey === releaseKey) return;
    this.#accepted.set(state, { releaseKey, configurations, previousReleaseKey: previous?.releaseKey });
  }

  /** After a turn of the event loop, so that the pushes of the release just emitted reach the wire first. */
  async #afterEmit(): Promise<void> {
    if (this.#accepted.size === 0) return;
    await setImmediate();
    const accepted = [...this.#accepted];
    this.#accepted.clear();
    for (const [state, { releaseKey, previousReleaseKey, configurations }] of accepted) {
      this.#logger.info('Apollo namespace updated', {
        namespace: state.name.configured,
        releaseKey,
        previousReleaseKey,
        keys: Object.keys(configurations).length,
      });
      this.#cacheWrites?.schedule(state.name, { releaseKey, configurations });
    }
  }

  /** Only when nothing better is held: content from Apollo always beats the cache. */
  async #fallBackToCache(state: NamespaceState): Promise<void> {
    if (state.content || !this.#cache) return;
    const cached = await this.#cache.read(state.name);
    if (!cached) return;
    state.content = { releaseKey: cached.releaseKey, configurations: Object.freeze(cached.configurations), origin: 'cache' };
    this.#logger.warn('Apollo namespace served from the local cache until Apollo answers', {
      namespace: state.name.configured,
      releaseKey: cached.releaseKey,
    });
  }

  #snapshot(observedAt: number): SourceSnapshot {
    const namespaces: NamespaceContent[] = this.#states.map((state) => {
      const content = state.content as HeldContent;
      return {
        key: `apollo:${state.name.configured}`,
        name: state.name.configured,
        format: state.name.format,
        configurations: content.configurations,
        releaseKey: content.releaseKey,
        origin: content.origin,
      };
    });
    return freezeSnapshot({ sourceId: APOLLO_SOURCE_ID, revision: snapshotRevision(namespaces), namespaces, observedAt });
  }

  /**
   * For one watcher: emits when every namespace has content and some content differs from
   * what this watcher was last given (a new releaseKey with equal content is not a change).
   */
  #emitter(listener: (snapshot: SourceSnapshot) => void): Emit {
    /** The configurations this watcher was last given, per namespace: held content is frozen and replaced, never changed. */
    let lastEmitted: ReadonlyMap<NamespaceState, Readonly<Record<string, string>>> | undefined;
    return (observedAt) => {
      const missing = this.#states.filter((state) => !state.content);
      if (missing.length > 0) {
        this.#logger.warn('Apollo snapshot incomplete; waiting for namespaces', {
          namespaces: missing.map((state) => state.name.configured),
        });
        return;
      }
      const current = new Map(this.#states.map((state) => [state, (state.content as HeldContent).configurations]));
      // By identity: #accept keeps the held object whenever a release's entries are equal, so
      // a new object is new content (comparing entries again would walk every key twice).
      const changed = lastEmitted === undefined || this.#states.some((state) => lastEmitted?.get(state) !== current.get(state));
      if (!changed) return;
      lastEmitted = current;
      const snapshot = this.#snapshot(observedAt);
      this.#logger.debug('Apollo snapshot emitted', { revision: snapshot.revision });
      try {
        listener(snapshot);
      } catch (error) {
        this.#logger.error('Apollo snapshot listener failed', { error: errorMessage(error) });
      }
    };
  }

  /** Fetches and emits one at a time, so a poll-driven fetch and a refresh never interleave. */
  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
