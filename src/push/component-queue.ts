import type { ComponentId } from '../domain/component.js';
import { errorMessage } from '../domain/errors.js';
import type { Logger } from '../observability/logger.js';
import type { AgentMetrics } from '../observability/metrics.js';
import { SidecarCallError, type SidecarClient } from '../sidecar/sidecar-client.js';
import type { ComponentPushState, PushOutcome, PushRequest, PushResult } from './push-request.js';
import { pushSizeProblem } from './push-size.js';
import type { PushSlots } from './push-slots.js';
import { classifyFailure, runWithRetry, type FailedAttempt, type RetrySettings } from './retry-policy.js';

export interface ComponentQueueSettings {
  readonly callDeadlineMs: number;
  readonly minIntervalMs: number;
  readonly retry: RetrySettings;
  /** Largest encoded request sent (the sidecar's receive limit); a bigger version is rejected without a call. */
  readonly maxPushBytes: number;
}

export interface ComponentQueueDeps {
  readonly id: ComponentId;
  readonly client: SidecarClient;
  readonly slots: PushSlots;
  readonly settings: ComponentQueueSettings;
  readonly logger: Logger;
  readonly metrics: AgentMetrics;
  /**
   * The sidecar connection a call started now goes out on (a count of (re)connections): what
   * was settled on an earlier one is not trusted on a later one.
   */
  readonly connection: () => number;
  readonly report: (outcome: PushOutcome) => void;
}

/** Abort reasons, told apart when a delivery ends early. */
class Superseded extends Error {
  override readonly name = 'Superseded';
}
class Stopped extends Error {
  override readonly name = 'Stopped';
}

interface Delivery {
  readonly request: PushRequest;
  readonly controller: AbortController;
  attempts: number;
  /** The connection its last call started on. */
  connection: number;
  lastFailure?: SidecarCallError;
}

interface Settled {
  readonly state: 'applied' | 'rejected' | 'failed';
  readonly hash: string;
  readonly code?: string;
  readonly message?: string;
  readonly attempts: number;
  /** The connection the version was settled on. */
  readonly connection: number;
}

/** A version over the size limit is refused here as grpc-go would refuse it there: RESOURCE_EXHAUSTED. */
const TOO_LARGE = 'RESOURCE_EXHAUSTED';
const TOO_LARGE_CODE = 8;

/**
 * One component's push state, owned here and nowhere else, and its serial delivery: at most one
 * submit in delivery (calls and retry sleeps) and one pending behind it, the latest. A newer
 * submit replaces the pending one and cuts the delivery's retries short, so an older config is
 * never sent after a newer one was accepted.
 *
 * A version settled on the current sidecar connection (applied, rejected, or given up) is not
 * sent again: submitting it is a no-op until it changes or the sidecar reconnects, so callers
 * may submit the whole desired set whenever they like (a release, a periodic resync).
 */
export class ComponentQueue {
  private pending: PushRequest | undefined;
  private current: Delivery | undefined;
  private settled: Settled | undefined;
  /** `hash code message` of the last rejection logged at warn: each version is warned about once. */
  private warnedRejection: string | undefined;
  /** When the last ApplyConfiguration for this component started (performance.now()). */
  private lastCallAt = Number.NEGATIVE_INFINITY;
  /** Holds the pending submit until `minIntervalMs` after the last call. */
  private intervalTimer: NodeJS.Timeout | undefined;
  /** Set by stop(): a flag, since nothing waits on it (a delivery's own controller is what stop() aborts). */
  private stopped = false;

  constructor(private readonly deps: ComponentQueueDeps) {}

  /** False when the submit was dropped: stopped, or the same hash is on its way or settled on this connection. */
  submit(request: PushRequest): boolean {
    if (this.stopped) return false;
    if (this.isDuplicate(request.component.hash)) return false;
    const replaced = this.pending;
    this.pending = request;
    if (replaced) this.finish(replaced, 'superseded', 0, undefined);
    this.current?.controller.abort(new Superseded());
    this.pump();
    return true;
  }

  state(): ComponentPushState | undefined {
    if (this.pending) return { state: 'pending', hash: this.pending.component.hash, attempts: 0 };
    if (this.current) {
      const failure = this.current.lastFailure;
      return {
        state: 'pushing',
        hash: this.current.request.component.hash,
        attempts: this.current.attempts,
        ...(failure ? { code: failure.codeName, message: failure.details } : {}),
      };
    }
    if (!this.settled) return undefined;
    const { connection, ...settled } = this.settled;
    return { ...settled, thisConnection: connection === this.deps.connection() };
  }

  forget(): void {
    this.settled = undefined;
  }

  isIdle(): boolean {
    return this.pending === undefined && this.current === undefined;
  }

  /** Abandons the pending submit and cuts retries short; a call in flight ends by its deadline. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.intervalTimer);
    this.intervalTimer = undefined;
    this.current?.controller.abort(new Stopped());
    const pending = this.pending;
    this.pending = undefined;
    if (pending) this.finish(pending, 'abandoned', 0, undefined);
  }

  private isDuplicate(hash: string): boolean {
    if (this.pending) return this.pending.component.hash === hash;
    // A call that started before the sidecar reconnected may have reached only the old one.
    if (this.current) return this.current.request.component.hash === hash && this.current.connection === this.deps.connection();
    return this.settled?.hash === hash && this.settled.connection === this.deps.connection();
  }

  /**
   * Starts the pending submit when nothing is in delivery: at once, so that the first call
   * leaves before `submit` returns (leading edge), or, within `minIntervalMs` of the last call,
   * at the interval's end (in a burst the latest submit wins).
   */
  private pump(): void {
    if (this.current || this.intervalTimer || !this.pending || this.stopped) return;
    const wait = this.lastCallAt + this.deps.settings.minIntervalMs - performance.now();
    if (wait > 0) {
      // Re-checked when it fires: timers count from the event loop's cached clock and may fire a little early.
      this.intervalTimer = setTimeout(() => {
        this.intervalTimer = undefined;
        this.pump();
      }, Math.ceil(wait));
      this.intervalTimer.unref();
      return;
    }
    const request = this.pending;
    this.pending = undefined;
    this.deliver(request).catch((error: unknown) => {
      this.deps.logger.error('component queue failed', { component: this.deps.id, error: errorMessage(error) });
    });
  }

  private async deliver(request: PushRequest): Promise<void> {
    const { client, slots, settings, metrics } = this.deps;
    const delivery: Delivery = { request, controller: new AbortController(), attempts: 0, connection: this.deps.connection() };
    const { signal } = delivery.controller;
    this.current = delivery;
    const tooLarge = pushSizeProblem(request.component, settings.maxPushBytes);
    if (tooLarge !== undefined) {
      this.current = undefined;
      this.finish(request, 'rejected', 0, new SidecarCallError(TOO_LARGE_CODE, TOO_LARGE, tooLarge), delivery.connection);
      this.pump();
      return;
    }
    let applied = false;
    let error: unknown;
    try {
      await runWithRetry(
        async () => {
          // A free slot is taken synchronously, so the first call starts within submit().
          const release = slots.tryAcquire() ?? (await slots.acquire(signal));
          delivery.attempts += 1;
          metrics.applyAttempts.inc({ kind: request.component.kind, name: request.component.name });
          delivery.connection = this.deps.connection();
          const started = performance.now();
          this.lastCallAt = started;
          try {
            await client.apply(request.component, { deadlineMs: settings.callDeadlineMs });
            applied = true;
          } finally {
            release();
            metrics.applyDuration.observe({ kind: request.component.kind }, (performance.now() - started) / 1000);
          }
        },
        { settings: settings.retry, signal, onFailedAttempt: (failure) => this.onFailedAttempt(delivery, failure) },
      );
    } catch (caught) {
      error = caught;
    }
    this.current = undefined;
    const failure = error instanceof SidecarCallError ? error : delivery.lastFailure;
    // A call that succeeded counts even if a newer submit or stop() came while it was in flight.
    const { attempts, connection } = delivery;
    if (applied) this.finish(request, 'applied', attempts, undefined, connection);
    else if (error instanceof SidecarCallError && classifyFailure(error) === 'rejected') {
      this.finish(request, 'rejected', attempts, error, connection);
    } else if (signal.aborted) {
      this.finish(request, signal.reason instanceof Stopped ? 'abandoned' : 'superseded', attempts, failure, connection);
    } else this.finish(request, 'failed', attempts, failure, connection);
    this.pump();
  }

  private onFailedAttempt(delivery: Delivery, { error, willRetry }: FailedAttempt): void {
    delivery.lastFailure = error;
    if (!willRetry) return;
    // The first failure of a delivery is news; the rest of an outage would flood the log.
    this.deps.logger.log(delivery.attempts === 1 ? 'warn' : 'debug', 'push failed; retrying', {
      component: this.deps.id,
      attempt: delivery.attempts,
      code: error.codeName,
      details: error.details,
    });
  }

  private finish(
    request: PushRequest,
    result: PushResult,
    attempts: number,
    failure: SidecarCallError | undefined,
    connection = this.deps.connection(),
  ): void {
    const { component, observedAt } = request;
    const { kind, name, hash } = component;
    const finishedAt = Date.now();
    // `details`, not `message`: winston would fold a `message` field into the log line's text.
    const fields = { component: this.deps.id, attempt: attempts, ...(failure ? { code: failure.codeName, details: failure.details } : {}) };
    const { metrics, logger } = this.deps;
    switch (result) {
      case 'applied':
        this.settled = { state: 'applied', hash, attempts, connection };
        metrics.applies.inc({ kind, name, result: 'applied' });
        metrics.lastApplyTime.set(finishedAt / 1000);
        if (observedAt !== undefined) metrics.releaseToApply.observe(Math.max(0, finishedAt - observedAt) / 1000);
        logger.debug('component applied', { component: this.deps.id, attempt: attempts });
        break;
      case 'rejected': {
        this.settled = { state: 'rejected', hash, attempts, connection, ...codeOf(failure) };
        metrics.applies.inc({ kind, name, result: 'rejected' });
        const rejection = `${hash} ${failure?.codeName} ${failure?.details}`;
        const what = failure?.codeName === TOO_LARGE && attempts === 0 ? 'component too large; not sent' : 'sidecar rejected component; not sent again';
        logger.log(this.warnedRejection === rejection ? 'debug' : 'warn', `${what} until it changes or the sidecar reconnects`, fields);
        this.warnedRejection = rejection;
        break;
      }
      case 'failed':
        this.settled = { state: 'failed', hash, attempts, connection, ...codeOf(failure) };
        metrics.applies.inc({ kind, name, result: 'failed' });
        logger.warn('push failed; giving up until it changes or the sidecar reconnects', fields);
        break;
      case 'superseded':
      case 'abandoned':
        logger.debug(`push ${result}`, fields);
        break;
    }
    this.deps.report({
      component,
      result,
      attempts,
      finishedAt,
      ...(failure ? { code: failure.codeName, message: failure.details } : {}),
      ...(observedAt !== undefined ? { observedAt } : {}),
    });
  }

}

function codeOf(failure: SidecarCallError | undefined): { code?: string; message?: string } {
  return failure ? { code: failure.codeName, message: failure.details } : {};
}
