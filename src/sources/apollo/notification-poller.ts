import { z } from 'zod';
import { errorMessage } from '../../domain/errors.js';
import type { Logger } from '../../observability/logger.js';
import type { AgentMetrics } from '../../observability/metrics.js';
import type { ApolloHttp } from './apollo-http.js';
import { BackoffStreak, type BackoffOptions } from './backoff.js';
import type { ConfigServiceLocator } from './config-service-locator.js';
import { sameNamespace } from './namespace-name.js';
import { mergeMessages, notificationMessagesSchema, type NotificationMessages } from './notification-messages.js';
import { sleep } from './sleep.js';

/** "Unknown, tell me the current id" (apollo-core `NOTIFICATION_ID_PLACEHOLDER`). */
const UNKNOWN_ID = -1;

const notificationsSchema = z.array(
  z.object({
    namespaceName: z.string(),
    notificationId: z.number().int(),
    messages: notificationMessagesSchema.nullish(),
  }),
);

/** One namespace that Apollo says has a newer release. */
export interface NamespaceNotification {
  /** Our spelling of the namespace, as it was sent in the poll. */
  readonly namespace: string;
  readonly notificationId: number;
  /** The namespace's own messages seen so far, to pass on to `/configs`. */
  readonly messages?: NotificationMessages;
}

/** Told of the namespaces a poll announced; returns nothing: the poller goes on polling. */
export type NotificationListener = (changes: readonly NamespaceNotification[], observedAt: number) => void;

export interface NotificationPollerOptions {
  readonly appId: string;
  readonly cluster: string;
  readonly ip?: string;
  /** Remote namespace names (`.properties` stripped), all polled in one request. */
  readonly namespaces: readonly string[];
  readonly http: ApolloHttp;
  readonly locator: ConfigServiceLocator;
  /** Read timeout of one poll; longer than the server's 60 s hold. */
  readonly pollTimeoutMs: number;
  /**
   * Polls start at least this far apart, so a server that answers at once (no hold, or a
   * 200 that changes nothing) cannot make the loop spin. A held poll is always longer.
   */
  readonly minPollIntervalMs: number;
  readonly backoff: BackoffOptions;
  readonly logger: Logger;
  readonly metrics: AgentMetrics;
  readonly random?: () => number;
}

type PollOutcome =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'changed'; readonly changes: readonly NamespaceNotification[] }
  /** A 200 whose ids are not newer than ours: nothing to fetch, and no reason to ask again at once. */
  | { readonly kind: 'stale' }
  | { readonly kind: 'error'; readonly error: string; readonly status?: number };

/** An id that moved a known id forward, held on probation until its fetch shows something new. */
interface Probation {
  readonly notificationId: number;
  readonly previous: number;
}

/**
 * The `/notifications/v2` long-poll for every namespace at once (apollo-java
 * RemoteConfigLongPollService): strictly one poll in flight, exponential backoff with jitter
 * after failures. It owns the notificationIds and messages and only announces: fetching is
 * the repositories' business, and the next poll does not wait for it.
 *
 * An id is sent on as soon as it is announced, but one that moved a known id forward is
 * trusted only once its fetch brought something new (`settle`): if it brought nothing (a 304,
 * the same content), the previous id is sent again, so that a bogus id (a proxy's, or one far
 * ahead of the server) cannot silence every later release. Announced a second time, the same
 * id is the server's own and is kept.
 */
export class NotificationPoller {
  readonly #ids = new Map<string, number>();
  readonly #messages = new Map<string, NotificationMessages>();
  readonly #probation = new Map<string, Probation>();
  /** Per namespace, the id that last brought nothing new: announced again, it is believed. */
  readonly #doubted = new Map<string, number>();
  readonly #streak: BackoffStreak;
  #running = false;

  constructor(private readonly options: NotificationPollerOptions) {
    for (const namespace of options.namespaces) this.#ids.set(namespace, UNKNOWN_ID);
    this.#streak = new BackoffStreak(options.backoff, options.random);
  }

  /** Polls until `signal` aborts; never throws. */
  async run(listener: NotificationListener, signal: AbortSignal): Promise<void> {
    if (this.#running) throw new Error('NotificationPoller is already running');
    this.#running = true;
    try {
      let lastStart = Number.NEGATIVE_INFINITY;
      while (!signal.aborted) {
        await sleep(lastStart + this.options.minPollIntervalMs - Date.now(), signal);
        if (signal.aborted) break;
        lastStart = Date.now();
        const outcome = await this.#pollOnce(signal);
        if (signal.aborted) break;
        await sleep(this.#settle(outcome, listener), signal);
      }
    } finally {
      this.#running = false;
    }
  }

  /**
   * What the fetch after an announcement found. `broughtNew` false (a 304, unchanged content)
   * sends the previous id again, unless the same id was already doubted once.
   */
  settle(namespace: string, notificationId: number, broughtNew: boolean): void {
    const probation = this.#probation.get(namespace);
    if (probation?.notificationId !== notificationId) return;
    this.#probation.delete(namespace);
    if (broughtNew) return;
    this.#doubted.set(namespace, notificationId);
    if (this.#ids.get(namespace) === notificationId) this.#ids.set(namespace, probation.previous);
    this.options.logger.info('Apollo notificationId announced nothing new; the previous id is sent again', {
      namespace,
      notificationId,
      previous: probation.previous,
    });
  }

  /** Handles one outcome and returns how long to wait before the next poll. */
  #settle(outcome: PollOutcome, listener: NotificationListener): number {
    const { logger, metrics } = this.options;
    if (outcome.kind !== 'error') metrics.apolloLastSuccessfulPoll.set(Date.now() / 1000);
    switch (outcome.kind) {
      case 'unchanged':
        metrics.apolloPolls.inc({ result: 'unchanged' });
        this.#streak.succeed();
        return 0;
      case 'stale': {
        metrics.apolloPolls.inc({ result: 'unchanged' });
        const delay = this.#streak.fail();
        logger.debug('Apollo long-poll answered without a newer notification', { attempt: this.#streak.failures, delayMs: delay });
        return delay;
      }
      case 'error': {
        metrics.apolloPolls.inc({ result: 'error' });
        const delay = this.#streak.fail();
        // The HTTP layer already reported a 401 streak once, as an error; repeating it is noise.
        logger.log(outcome.status === 401 ? 'debug' : 'warn', 'Apollo long-poll failed; retrying after backoff', {
          reason: outcome.error,
          ...(outcome.status !== undefined ? { status: outcome.status } : {}),
          attempt: this.#streak.failures,
          delayMs: delay,
        });
        return delay;
      }
      case 'changed': {
        metrics.apolloPolls.inc({ result: 'changed' });
        this.#streak.succeed();
        try {
          listener(outcome.changes, Date.now());
        } catch (error) {
          logger.error('Apollo notification listener failed', { error: errorMessage(error) });
        }
        // A turn later, when the fetches of the change are on the wire: a line costs more than starting them.
        setImmediate(() => {
          for (const change of outcome.changes) {
            logger.info('Apollo notified a change', { namespace: change.namespace, notificationId: change.notificationId });
          }
        });
        return 0;
      }
    }
  }

  async #pollOnce(signal: AbortSignal): Promise<PollOutcome> {
    const { appId, cluster, ip, http, locator } = this.options;
    let baseUrl: string | undefined;
    try {
      baseUrl = (await locator.candidates(signal))[0];
      if (baseUrl === undefined) return { kind: 'error', error: 'no config service known' };
      const notifications = [...this.#ids].map(([namespaceName, notificationId]) => ({ namespaceName, notificationId }));
      const response = await http.get({
        baseUrl,
        path: ['notifications', 'v2'],
        query: { appId, cluster, notifications: JSON.stringify(notifications), ip },
        timeoutMs: this.options.pollTimeoutMs,
        signal,
      });
      if (response.status === 304) {
        locator.reportSuccess(baseUrl);
        return { kind: 'unchanged' };
      }
      if (response.status !== 200) {
        locator.reportFailure(baseUrl);
        return { kind: 'error', error: `${response.url} answered ${response.status}`, status: response.status };
      }
      const outcome = this.#read(response.body);
      if (outcome.kind === 'error') locator.reportFailure(baseUrl);
      else locator.reportSuccess(baseUrl);
      return outcome;
    } catch (error) {
      if (baseUrl !== undefined && !signal.aborted) locator.reportFailure(baseUrl);
      return { kind: 'error', error: errorMessage(error) };
    }
  }

  #read(body: string): PollOutcome {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return { kind: 'error', error: 'notifications body is not JSON' };
    }
    const parsed = notificationsSchema.safeParse(json);
    if (!parsed.success) return { kind: 'error', error: `unexpected notifications body: ${z.prettifyError(parsed.error)}` };

    const newer = new Map<string, number>();
    for (const notification of parsed.data) {
      const namespace = [...this.#ids.keys()].find((known) => sameNamespace(known, notification.namespaceName));
      if (namespace === undefined) continue;
      if (notification.messages) {
        this.#messages.set(namespace, mergeMessages(this.#messages.get(namespace), notification.messages, namespace));
      }
      const known = this.#ids.get(namespace) ?? UNKNOWN_ID;
      if (notification.notificationId > Math.max(known, newer.get(namespace) ?? UNKNOWN_ID)) {
        newer.set(namespace, notification.notificationId);
      }
    }
    if (newer.size === 0) return { kind: 'stale' };
    const changes = [...newer].map(([namespace, notificationId]) => {
      this.#announce(namespace, notificationId);
      const messages = this.#messages.get(namespace);
      return messages ? { namespace, notificationId, messages } : { namespace, notificationId };
    });
    return { kind: 'changed', changes };
  }

  /** Sends `notificationId` from now on; on probation when it moves a known id forward and was not doubted before. */
  #announce(namespace: string, notificationId: number): void {
    const previous = this.#ids.get(namespace) ?? UNKNOWN_ID;
    this.#ids.set(namespace, notificationId);
    const believed = previous === UNKNOWN_ID || this.#doubted.get(namespace) === notificationId;
    this.#doubted.delete(namespace);
    if (believed) this.#probation.delete(namespace);
    else this.#probation.set(namespace, { notificationId, previous });
  }
}
