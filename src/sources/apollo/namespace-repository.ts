import { SourceError, errorMessage } from '../../domain/errors.js';
import { hashText } from '../../domain/hash.js';
import { namespaceRelease, type NamespaceContent } from '../../domain/snapshot.js';
import type { Logger } from '../../observability/logger.js';
import type { SourceNamespaceStatus } from '../source.js';
import { BackoffStreak, type BackoffOptions } from './backoff.js';
import type { DeferredCacheWrites } from './deferred-cache-writes.js';
import type { NamespaceCache } from './namespace-cache.js';
import type { FetchAnswer, NamespaceFetcher } from './namespace-fetcher.js';
import type { NamespaceName } from './namespace-name.js';
import type { NotificationMessages } from './notification-messages.js';
import { sleep } from './sleep.js';

/** Apollo answered 404 for a namespace: no such app, cluster or namespace, or no release of it. */
export class ApolloNotFoundError extends SourceError {
  override readonly name = 'ApolloNotFoundError';
  constructor(
    readonly appId: string,
    readonly cluster: string,
    readonly namespace: string,
  ) {
    super(
      `Apollo has no release of namespace ${namespace} (appId ${appId}, cluster ${cluster}): check the app id, cluster and namespace names`,
      'apollo',
    );
  }
}

/** How a sync ended: whether the namespace's content is now a different release. */
export type SyncResult = 'changed' | 'unchanged' | 'aborted';

export interface NamespaceRepositoryOptions {
  readonly name: NamespaceName;
  readonly appId: string;
  readonly cluster: string;
  readonly fetcher: NamespaceFetcher;
  readonly cache?: NamespaceCache;
  readonly cacheWrites?: DeferredCacheWrites;
  readonly backoff: BackoffOptions;
  readonly logger: Logger;
  /** The content held changed (a release from Apollo, the cache, an empty namespace). */
  readonly onContent: () => void;
  readonly random?: () => number;
}

/**
 * One Apollo namespace (apollo-java RemoteConfigRepository with its LocalFileConfigRepository):
 * the one owner of its content, releaseKey and failure state. A sync fetches until Apollo gives
 * an answer, with the one backoff of this namespace; while none comes the last good content
 * stays, or the local cache stands in when nothing was held yet.
 *
 * 404: a namespace Apollo has not served in this process counts as empty (a cached copy does
 * not outlive it); one it served keeps its content, as apollo-java does, and is retried.
 */
export class NamespaceRepository {
  readonly #streak: BackoffStreak;
  #content: NamespaceContent | undefined;
  /** Sent as `releaseKey` so an unchanged release costs a 304: only what Apollo itself gave. */
  #remoteReleaseKey: string | undefined;
  #servedByApollo = false;
  #messages: NotificationMessages | undefined;
  #failing = false;
  #error: string | undefined;
  #notFound = false;
  #cacheError: string | undefined;
  #lastSuccessAt: number | undefined;
  /** The round waiting to start; a sync asked for meanwhile shares it. */
  #queued: Promise<SyncResult> | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  /** Aborted to cut a backoff short when a notification says Apollo is answering. */
  #wake = new AbortController();
  #firstAttempt!: () => void;
  /** Settles once the first fetch was answered or failed (and the cache was tried), or the sync was stopped. */
  readonly attempted: Promise<void>;

  constructor(private readonly options: NamespaceRepositoryOptions) {
    this.#streak = new BackoffStreak(options.backoff, options.random);
    this.attempted = new Promise((resolve) => {
      this.#firstAttempt = resolve;
    });
  }

  get name(): NamespaceName {
    return this.options.name;
  }

  get content(): NamespaceContent | undefined {
    return this.#content;
  }

  status(): SourceNamespaceStatus {
    const content = this.#content;
    const error = this.#error ?? (this.#cacheError !== undefined ? `local cache not written: ${this.#cacheError}` : undefined);
    return {
      sourceId: 'apollo',
      namespace: this.options.name.configured,
      ...(content !== undefined && content.releaseKey !== '' ? { releaseKey: content.releaseKey } : {}),
      ...(this.#lastSuccessAt !== undefined ? { lastSuccessAt: this.#lastSuccessAt } : {}),
      failing: this.#failing,
      ...(error !== undefined ? { error } : {}),
      origin: content === undefined ? 'none' : content.origin === 'cache' ? 'cache' : 'apollo',
    };
  }

  /**
   * Fetches until Apollo answers (or `signal` aborts). Calls while a round waits to start
   * share it; `messages` (a notification's) ride on the next fetch.
   */
  sync(messages: NotificationMessages | undefined, signal: AbortSignal): Promise<SyncResult> {
    if (messages !== undefined) this.#messages = messages;
    // Apollo is answering the long-poll: a fetch waiting out its backoff goes now.
    if (messages !== undefined) this.#wake.abort();
    if (this.#queued) return this.#queued;
    const round = this.#tail.then(() => {
      this.#queued = undefined;
      return this.#round(signal);
    });
    this.#queued = round;
    this.#tail = round.catch(() => undefined);
    return round;
  }

  /** One shot: Apollo's answer, else the cache. Throws ApolloNotFoundError on a 404, SourceError when neither answers. */
  async load(signal?: AbortSignal): Promise<NamespaceContent> {
    const { name, appId, cluster } = this.options;
    let answer: FetchAnswer;
    try {
      answer = await this.options.fetcher.fetch({ namespace: name, signal });
    } catch (error) {
      const cached = await this.options.cache?.read(name);
      if (cached === undefined) throw error instanceof SourceError ? error : new SourceError(errorMessage(error), 'apollo');
      this.options.logger.warn('Apollo namespace served from the local cache: no config service answered', {
        namespace: name.configured,
        releaseKey: cached.releaseKey,
        error: errorMessage(error),
      });
      return this.#release(cached.releaseKey, cached.configurations, 'cache', cached.contentHash);
    }
    if (answer.kind === 'not_found') throw new ApolloNotFoundError(appId, cluster, name.configured);
    if (answer.kind === 'not_modified') throw new SourceError(`Apollo answered 304 for ${name.configured} without a releaseKey sent`, 'apollo');
    this.#content = this.#release(answer.releaseKey, answer.configurations, 'apollo', answer.contentHash);
    this.options.logger.info('Apollo namespace fetched', { namespace: name.configured, releaseKey: answer.releaseKey });
    return this.#content;
  }

  /** The release gate took `release` as this namespace's last good one: only such a release is cached. Settles once written. */
  accepted(release: NamespaceContent): Promise<void> {
    const writes = this.options.cacheWrites;
    if (release !== this.#content || release.origin !== 'apollo' || writes === undefined) return Promise.resolve();
    return new Promise((resolve) =>
      writes.schedule(this.options.name, release, (error) => {
        if (error !== undefined && this.#cacheError === undefined) {
          this.options.logger.warn('Apollo cache not written', { namespace: this.options.name.configured, error });
        }
        this.#cacheError = error;
        resolve();
      }),
    );
  }

  async #round(signal: AbortSignal): Promise<SyncResult> {
    const before = this.#content;
    while (!signal.aborted) {
      // A wake from now on (a notification during the fetch or the backoff) cuts the backoff short.
      if (this.#wake.signal.aborted) this.#wake = new AbortController();
      const messages = this.#messages;
      try {
        const answer = await this.options.fetcher.fetch({
          namespace: this.options.name,
          releaseKey: this.#remoteReleaseKey,
          messages,
          signal,
        });
        if (signal.aborted) break;
        this.#take(answer);
        this.#firstAttempt();
        return this.#content === before ? 'unchanged' : 'changed';
      } catch (error) {
        if (signal.aborted) break;
        await this.#fail(errorMessage(error), messages);
        this.#firstAttempt();
      }
      const delay = this.#streak.fail();
      this.options.logger.warn('Apollo namespace could not be fetched; retrying after backoff', {
        namespace: this.options.name.configured,
        error: this.#error,
        attempt: this.#streak.failures,
        delayMs: delay,
      });
      await sleep(delay, AbortSignal.any([signal, this.#wake.signal]));
    }
    this.#firstAttempt();
    return 'aborted';
  }

  #take(answer: FetchAnswer): void {
    const { name, appId, cluster, logger } = this.options;
    if (answer.kind === 'not_found' && this.#servedByApollo) {
      throw new ApolloNotFoundError(appId, cluster, name.configured);
    }
    if (this.#failing) logger.info('Apollo namespace fetched again', { namespace: name.configured });
    this.#failing = false;
    this.#error = undefined;
    this.#lastSuccessAt = Date.now();
    this.#streak.succeed();
    if (answer.kind === 'not_modified') return;
    if (answer.kind === 'not_found') {
      if (!this.#notFound) {
        logger.warn('Apollo has no release of this namespace; counting it as empty until it has one', { namespace: name.configured, appId, cluster });
      }
      this.#notFound = true;
      this.#error = `Apollo has no release of namespace ${name.configured} (appId ${appId}, cluster ${cluster})`;
      this.#remoteReleaseKey = undefined;
      this.#hold(this.#release('', {}, 'apollo', hashText('')));
      return;
    }
    this.#notFound = false;
    this.#servedByApollo = true;
    this.#remoteReleaseKey = answer.releaseKey;
    this.#hold(this.#release(answer.releaseKey, answer.configurations, 'apollo', answer.contentHash));
  }

  /** A failed fetch: nothing changes but the failure state; the cache stands in only for nothing at all. */
  async #fail(error: string, sent: NotificationMessages | undefined): Promise<void> {
    this.#failing = true;
    this.#error = error;
    // The messages sent may be what the server choked on: the retry goes without them. Newer
    // ones, announced while the fetch was out, were never sent and go with the retry.
    if (this.#messages === sent) this.#messages = undefined;
    if (this.#content !== undefined || !this.options.cache) return;
    const cached = await this.options.cache.read(this.options.name);
    if (cached === undefined || this.#content !== undefined) return;
    this.options.logger.warn('Apollo namespace served from the local cache until Apollo answers', {
      namespace: this.options.name.configured,
      releaseKey: cached.releaseKey,
    });
    this.#hold(this.#release(cached.releaseKey, cached.configurations, 'cache', cached.contentHash));
  }

  /** Holds `next` unless it is the same release as held now, and tells the source. */
  #hold(next: NamespaceContent): void {
    const previous = this.#content;
    if (previous !== undefined && previous.identity === next.identity && previous.origin === next.origin) return;
    this.#content = next;
    this.options.onContent();
    if (next.origin !== 'apollo') return;
    // A turn later, when the pushes of the release are on the wire: a line costs more than starting them.
    setImmediate(() =>
      this.options.logger.info('Apollo namespace updated', {
        namespace: next.name,
        releaseKey: next.releaseKey,
        ...(previous !== undefined ? { previousReleaseKey: previous.releaseKey } : {}),
        keys: Object.keys(next.configurations).length,
      }),
    );
  }

  #release(releaseKey: string, configurations: Readonly<Record<string, string>>, origin: 'apollo' | 'cache', contentHash: string): NamespaceContent {
    const { name } = this.options;
    return namespaceRelease({
      key: `apollo:${name.configured}`,
      name: name.configured,
      format: name.format,
      // Apollo delivers every format but properties as its one `content` key.
      configurations: name.format === 'properties' ? configurations : contentOnly(configurations),
      releaseKey,
      origin,
    }, contentHash);
  }
}

function contentOnly(configurations: Readonly<Record<string, string>>): Record<string, string> {
  const text = Object.hasOwn(configurations, 'content') ? configurations['content'] : undefined;
  return { content: text ?? '' };
}
