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
  /** Every message seen so far for the namespace, to pass on to `/configs`. */
  readonly messages?: NotificationMessages;
}

/**
 * Fetches what changed and answers which namespaces it has settled (fetched, found empty,
 * or rejected for good). Only those advance their notificationId, so a namespace whose
 * fetch failed is announced again by the next poll.
 */
export type ChangeHandler = (changes: readonly NamespaceNotification[], observedAt: number) => Promise<ReadonlySet<string>>;

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

/**
 * The `/notifications/v2` long-poll for every namespace at once (apollo-java
 * RemoteConfigLongPollService): strictly one poll in flight, the change handler awaited
 * before the next poll, exponential backoff with jitter after failures.
 */
export class NotificationPoller {
  readonly #ids = new Map<string, number>();
  readonly #messages = new Map<string, NotificationMessages>();
  readonly #streak: BackoffStreak;
  #running = false;

  constructor(private readonly options: NotificationPollerOptions) {
    for (const namespace of options.namespaces) this.#ids.set(namespace, UNKNOWN_ID);
    this.#streak = new BackoffStreak(options.backoff, options.random);
  }

  /** The merged messages last seen for a namespace, for fetches outside a notification. */
  messagesFor(namespace: string): NotificationMessages | undefined {
    return this.#messages.get(namespace);
  }

  /** Polls until `signal` aborts; never throws. */
  async run(onChange: ChangeHandler, signal: AbortSignal): Promise<void> {
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
        const delay = await this.#settle(outcome, onChange);
        await sleep(delay, signal);
      }
    } finally {
      this.#running = false;
    }
  }

  /** Handles one outcome and returns how long to wait before the next poll. */
  async #settle(outcome: PollOutcome, onChange: ChangeHandler): Promise<number> {
    const { logger, metrics } = this.options;
    switch (outcome.kind) {
      case 'unchanged':
        metrics.apolloPolls.inc({ result: 'unchanged' });
        metrics.apolloLastSuccessfulPoll.setToCurrentTime();
        this.#streak.succeed();
        return 0;
      case 'stale': {
        metrics.apolloPolls.inc({ result: 'unchanged' });
        metrics.apolloLastSuccessfulPoll.setToCurrentTime();
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
          status: outcome.status,
          attempt: this.#streak.failures,
          delayMs: delay,
        });
        return delay;
      }
      case 'changed': {
        metrics.apolloPolls.inc({ result: 'changed' });
        metrics.apolloLastSuccessfulPoll.setToCurrentTime();
        const observedAt = Date.now();
        // A turn later, when the fetches of the change are on the wire: a line costs more than starting them.
        setImmediate(() => {
          for (const change of outcome.changes) {
            logger.info('Apollo notified a change', { namespace: change.namespace, notificationId: change.notificationId });
          }
        });
        let settled: ReadonlySet<string>;
        try {
          settled = await onChange(outcome.changes, observedAt);
        } catch (error) {
          logger.error('Apollo change handler failed', { error: errorMessage(error) });
          settled = new Set();
        }
        const unsettled = outcome.changes.filter((change) => !settled.has(change.namespace));
        for (const change of outcome.changes) {
          if (settled.has(change.namespace)) this.#ids.set(change.namespace, change.notificationId);
        }
        if (unsettled.length === 0) {
          this.#streak.succeed();
          return 0;
        }
        const delay = this.#streak.fail();
        logger.warn('Apollo namespaces not fetched after a notification; the next poll announces them again', {
          namespaces: unsettled.map((change) => change.namespace),
          attempt: this.#streak.failures,
          delayMs: delay,
        });
        return delay;
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
      if (notification.messages) this.#messages.set(namespace, mergeMessages(this.#messages.get(namespace), notification.messages));
      const known = this.#ids.get(namespace) ?? UNKNOWN_ID;
      if (notification.notificationId > Math.max(known, newer.get(namespace) ?? UNKNOWN_ID)) {
        newer.set(namespace, notification.notificationId);
      }
    }
    if (newer.size === 0) return { kind: 'stale' };
    const changes = [...newer].map(([namespace, notificationId]) => {
      const messages = this.#messages.get(namespace);
      return messages ? { namespace, notificationId, messages } : { namespace, notificationId };
    });
    return { kind: 'changed', changes };
  }
}
