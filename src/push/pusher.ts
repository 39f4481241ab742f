import type { ComponentId } from '../domain/component.js';
import { errorMessage } from '../domain/errors.js';
import type { Logger } from '../observability/logger.js';
import type { AgentMetrics } from '../observability/metrics.js';
import type { SidecarClient } from '../sidecar/sidecar-client.js';
import { ComponentQueue, type ComponentQueueSettings } from './component-queue.js';
import type { ComponentPushState, PushOutcome, PushRequest } from './push-request.js';
import { PushSlots } from './push-slots.js';
import { DEFAULT_RETRY, type RetrySettings } from './retry-policy.js';

export type { ComponentPushState, PushOutcome, PushRequest, PushResult } from './push-request.js';

export interface PusherOptions {
  readonly client: SidecarClient;
  readonly logger: Logger;
  readonly metrics: AgentMetrics;
  /** Called once per accepted submit when it ends; errors it throws are logged, never raised. */
  readonly onOutcome?: (outcome: PushOutcome) => void;
  /**
   * ApplyConfiguration calls in flight at once, over all components. Default 256: a call is
   * cheap for Layotto and HTTP/2 multiplexes them on one connection; calls started together
   * share socket writes, so a release of hundreds of components goes out in a few waves
   * (bench figure 3a, 500 components: worst round 0.85–1.5 s with 64 in flight, mostly 0.6–0.7 s with 256).
   */
  readonly concurrency?: number;
  /** Deadline of each single call. */
  readonly callDeadlineMs?: number;
  /** A component is pushed at most once per this interval; within it, the latest submit wins. */
  readonly minIntervalMs?: number;
  readonly retry?: Partial<RetrySettings>;
  /** Largest encoded request sent (`--max-push-bytes`); default 4 MiB, grpc-go's receive limit. */
  readonly maxPushBytes?: number;
}

export const DEFAULT_MAX_PUSH_BYTES = 4 * 1024 * 1024;

/**
 * Delivers components to the sidecar (CONTRACT.md section 6): per component one call at a time
 * in submit order, the latest submit winning; components in parallel up to `concurrency`;
 * retries per the retry policy; a version settled on the current connection is not sent again
 * (see ComponentQueue). Memory is one pending submit per component.
 */
export class Pusher {
  private readonly queues = new Map<ComponentId, ComponentQueue>();
  private readonly slots: PushSlots;
  private readonly idleWaiters = new Set<() => void>();
  private readonly settings: ComponentQueueSettings;
  /** Sidecar (re)connections seen: each one voids what the earlier connections settled. */
  private connection = 0;
  private stopped = false;

  constructor(private readonly options: PusherOptions) {
    this.slots = new PushSlots(options.concurrency ?? 256);
    this.settings = {
      callDeadlineMs: options.callDeadlineMs ?? 5_000,
      minIntervalMs: options.minIntervalMs ?? 50,
      retry: { ...DEFAULT_RETRY, ...options.retry },
      maxPushBytes: options.maxPushBytes ?? DEFAULT_MAX_PUSH_BYTES,
    };
    if (!(this.settings.callDeadlineMs > 0)) throw new RangeError('callDeadlineMs must be positive');
    if (!(this.settings.minIntervalMs >= 0)) throw new RangeError('minIntervalMs must not be negative');
    if (!(this.settings.maxPushBytes > 0)) throw new RangeError('maxPushBytes must be positive');
    const { minDelayMs, maxDelayMs } = this.settings.retry;
    // p-retry skips the timer for a zero delay; a sidecar failing fast would then spin without yielding.
    if (!(minDelayMs >= 1)) throw new RangeError('retry.minDelayMs must be at least 1');
    if (!(maxDelayMs >= minDelayMs)) throw new RangeError('retry.maxDelayMs must not be below retry.minDelayMs');
  }

  /** Never throws, never waits: the push happens in the background and ends in onOutcome. */
  submit(request: PushRequest): void {
    const { id, hash } = request.component;
    try {
      if (this.stopped) {
        this.options.logger.debug('push dropped: pusher stopped', { component: id });
        return;
      }
      if (!this.queueFor(request.component).submit(request)) {
        this.options.logger.debug('push dropped: same version on its way or settled on this connection', { component: id, hash });
      }
    } catch (error) {
      this.options.logger.error('push submit failed', { component: id, error: errorMessage(error) });
    }
  }

  /** Where one component stands; undefined if it was never submitted. */
  stateOf(id: ComponentId): ComponentPushState | undefined {
    return this.queues.get(id)?.state();
  }

  status(): ReadonlyMap<ComponentId, ComponentPushState> {
    const states = new Map<ComponentId, ComponentPushState>();
    for (const [id, queue] of this.queues) {
      const state = queue.state();
      if (state) states.set(id, state);
    }
    return states;
  }

  /** Forgets how the component's last version settled: submitted again, it is sent again. */
  forget(id: ComponentId): void {
    this.queues.get(id)?.forget();
  }

  /**
   * The sidecar (re)connected: it may be a new process that knows nothing, so every version is
   * sent again when next submitted, those it applied, rejected or gave up on included.
   */
  reconnected(): void {
    this.connection += 1;
  }

  isIdle(): boolean {
    for (const queue of this.queues.values()) if (!queue.isIdle()) return false;
    return true;
  }

  /** True once nothing is pending or in flight; false if that takes longer than `timeoutMs`. */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.isIdle()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      // Left ref'd on purpose: whoever drains (shutdown) needs the process alive until it knows.
      const timer = setTimeout(() => {
        this.idleWaiters.delete(done);
        resolve(false);
      }, timeoutMs);
      this.idleWaiters.add(done);
    });
  }

  /** Abandons pending submits and cancels retry sleeps; calls in flight end by their deadline. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const queue of this.queues.values()) queue.stop();
  }

  private queueFor({ id, kind, name }: PushRequest['component']): ComponentQueue {
    let queue = this.queues.get(id);
    if (!queue) {
      // Its rejected and failed series exist at 0 from its first push, so an alert's increase() sees the first one.
      this.options.metrics.initComponent(kind, name);
      queue = new ComponentQueue({
        id,
        client: this.options.client,
        slots: this.slots,
        settings: this.settings,
        logger: this.options.logger,
        metrics: this.options.metrics,
        // A call made while disconnected goes out on the next connection, and counts for it.
        connection: () => this.connection + (this.options.client.isConnected() ? 0 : 1),
        report: (outcome) => this.report(outcome),
      });
      this.queues.set(id, queue);
    }
    return queue;
  }

  private report(outcome: PushOutcome): void {
    try {
      this.options.onOutcome?.(outcome);
    } catch (error) {
      this.options.logger.error('push outcome listener failed', { component: outcome.component.id, error: errorMessage(error) });
    }
    if (this.idleWaiters.size > 0 && this.isIdle()) {
      const waiters = [...this.idleWaiters];
      this.idleWaiters.clear();
      for (const waiter of waiters) waiter();
    }
  }
}
