import * as grpc from '@grpc/grpc-js';
import type { ComponentConfig } from '../domain/component.js';
import { errorMessage } from '../domain/errors.js';
import type { Logger } from '../observability/logger.js';
import type { AgentMetrics } from '../observability/metrics.js';
import { APPLY_CONFIGURATION_PATH, decodeApplyConfigurationResponse, encodeDynamicConfiguration } from './lifecycle-codec.js';
import { SidecarCallError, type SidecarClient } from './sidecar-client.js';

/** Node timers overflow (and fire at once) beyond this, so it is the longest idle timeout grpc-js can use. */
const MAX_TIMER_MS = 2_147_483_647;
/**
 * grpc-js stamps a call's end a moment before our callback runs; this much slack still lets a
 * READY→IDLE transition be recognised as the channel's idle timer rather than a lost sidecar.
 */
const IDLE_SLACK_MS = 100;

export interface GrpcSidecarClientOptions {
  /** `host:port` of Layotto's gRPC server. */
  readonly address: string;
  readonly logger: Logger;
  readonly metrics: AgentMetrics;
  /**
   * Redial delays after the sidecar went away. A local sidecar is cheap to dial and a restart
   * should be noticed within seconds, unlike grpc-js's defaults (1 s growing to 120 s).
   */
  readonly reconnectBackoffMs?: { readonly initial: number; readonly max: number };
  /**
   * grpc-js drops an unused connection after this long. Each reconnection triggers a full
   * re-push (which re-initialises Layotto components), so the default is as long as possible,
   * and a reconnection caused by this timer is not reported as one. Minimum 1000 (grpc-js).
   */
  readonly idleTimeoutMs?: number;
}

function toSidecarCallError(error: unknown): SidecarCallError {
  if (error instanceof SidecarCallError) return error;
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'number') {
    const details = 'details' in error && typeof error.details === 'string' ? error.details : String(error);
    return new SidecarCallError(error.code, grpc.status[error.code] ?? 'UNKNOWN', details);
  }
  return new SidecarCallError(grpc.status.UNKNOWN, 'UNKNOWN', error instanceof Error ? error.message : String(error));
}

/**
 * Layotto's Lifecycle/ApplyConfiguration over plaintext HTTP/2. Connects at construction and
 * keeps connecting; every transition into READY after a state that was not READY (the first
 * connection, a sidecar restart) calls the onConnected listeners, asynchronously. A listener
 * added after the channel became READY is not called for that connection: check isConnected().
 */
export class GrpcSidecarClient implements SidecarClient {
  private readonly client: grpc.Client;
  private readonly listeners = new Set<() => void>();
  private readonly idleTimeoutMs: number;
  private state: grpc.connectivityState;
  private connected = false;
  private closed = false;
  /** The channel went idle by its own timer and is redialling: not a loss of the sidecar. */
  private resumingFromIdle = false;
  /** A call failed UNAVAILABLE since the last (re)connection was reported. */
  private unavailableSinceConnect = false;
  private callsInFlight = 0;
  private lastActivityAt = Date.now();

  constructor(private readonly options: GrpcSidecarClientOptions) {
    const backoff = options.reconnectBackoffMs ?? { initial: 200, max: 5_000 };
    this.idleTimeoutMs = Math.min(Math.max(options.idleTimeoutMs ?? MAX_TIMER_MS, 1_000), MAX_TIMER_MS);
    this.client = new grpc.Client(options.address, grpc.credentials.createInsecure(), {
      'grpc.client_idle_timeout_ms': this.idleTimeoutMs,
      'grpc.initial_reconnect_backoff_ms': backoff.initial,
      'grpc.max_reconnect_backoff_ms': backoff.max,
      // No service config exists for a sidecar; skip the DNS TXT lookup for one.
      'grpc.service_config_disable_resolution': 1,
      // Keepalive stays off: Layotto's grpc-go server by default answers pings more frequent than
      // 5 min (or any without a call in flight) with GOAWAY too_many_pings, itself a reconnection;
      // and a local sidecar that dies closes its socket, which the channel sees at once.
    });
    this.state = this.client.getChannel().getConnectivityState(true);
    this.watch();
  }

  apply(config: ComponentConfig, options: { deadlineMs: number }): Promise<void> {
    if (this.closed) {
      return Promise.reject(new SidecarCallError(grpc.status.CANCELLED, 'CANCELLED', 'sidecar client is closed'));
    }
    return new Promise<void>((resolve, reject) => {
      const settle = (error: unknown): void => {
        this.callsInFlight -= 1;
        this.lastActivityAt = Date.now();
        if (!error) {
          this.onCallSucceeded();
          resolve();
          return;
        }
        const failure = toSidecarCallError(error);
        if (failure.code === grpc.status.UNAVAILABLE) this.unavailableSinceConnect = true;
        reject(failure);
      };
      this.callsInFlight += 1;
      this.lastActivityAt = Date.now();
      try {
        this.client.makeUnaryRequest(
          APPLY_CONFIGURATION_PATH,
          encodeDynamicConfiguration,
          decodeApplyConfigurationResponse,
          config,
          new grpc.Metadata(),
          { deadline: Date.now() + options.deadlineMs },
          settle,
        );
      } catch (error) {
        // grpc-js throws rather than calls back for a request it cannot even start.
        settle(error ?? new Error('ApplyConfiguration could not start'));
      }
    });
  }

  /**
   * Resolves true once the channel is READY; false as soon as a connection attempt fails
   * (refused, unresolvable: TRANSIENT_FAILURE) or after `timeoutMs`. For one-shot callers, which
   * must not spend their whole timeout retrying a sidecar that is not there.
   */
  reachable(timeoutMs: number): Promise<boolean> {
    const { READY, TRANSIENT_FAILURE, SHUTDOWN } = grpc.connectivityState;
    const channel = this.client.getChannel();
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve) => {
      const check = (): void => {
        const state = channel.getConnectivityState(true);
        if (state === READY || state === TRANSIENT_FAILURE || state === SHUTDOWN) resolve(state === READY);
        else channel.watchConnectivityState(state, deadline, (error) => (error ? resolve(false) : check()));
      };
      check();
    });
  }

  onConnected(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  isConnected(): boolean {
    return this.connected;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    if (this.connected) this.options.metrics.sidecarConnected.set(0);
    this.connected = false;
    this.client.close();
  }

  private watch(): void {
    this.client.getChannel().watchConnectivityState(this.state, Infinity, () => this.onStateChange());
  }

  private onStateChange(): void {
    if (this.closed) return;
    const channel = this.client.getChannel();
    const previous = this.state;
    this.state = channel.getConnectivityState(false);
    // Watch again before redialling: grpc-js reports the transitions that redialling causes synchronously.
    this.watch();
    this.track(previous, this.state);
    if (this.state === grpc.connectivityState.IDLE) channel.getConnectivityState(true);
  }

  private track(previous: grpc.connectivityState, state: grpc.connectivityState): void {
    const { READY, IDLE, CONNECTING } = grpc.connectivityState;
    if (state === READY) {
      this.resumingFromIdle = false;
      this.markConnected('channel');
      return;
    }
    if (previous === READY && state === IDLE && this.idleTimerFired()) {
      this.resumingFromIdle = true;
      this.options.logger.debug('sidecar channel idle; reconnecting', { address: this.options.address });
      return;
    }
    if (this.resumingFromIdle && (state === IDLE || state === CONNECTING)) return;
    this.resumingFromIdle = false;
    this.markDisconnected(state);
  }

  private idleTimerFired(): boolean {
    return this.callsInFlight === 0 && Date.now() - this.lastActivityAt >= this.idleTimeoutMs - IDLE_SLACK_MS;
  }

  /** A call got through after UNAVAILABLE failures the channel watcher did not explain: the sidecar came back. */
  private onCallSucceeded(): void {
    if (!this.unavailableSinceConnect) return;
    this.connected = false;
    this.markConnected('call');
  }

  private markConnected(via: 'channel' | 'call'): void {
    this.unavailableSinceConnect = false;
    if (this.connected) return;
    this.connected = true;
    this.options.metrics.sidecarConnected.set(1);
    this.options.metrics.sidecarConnections.inc();
    this.options.logger.info('sidecar connected', { address: this.options.address, via });
    // Deferred so that listeners (which push) never run inside grpc-js's state machinery.
    queueMicrotask(() => {
      for (const listener of [...this.listeners]) {
        try {
          listener();
        } catch (error) {
          this.options.logger.error('sidecar onConnected listener failed', { error: errorMessage(error) });
        }
      }
    });
  }

  private markDisconnected(state: grpc.connectivityState): void {
    if (!this.connected) return;
    this.connected = false;
    this.options.metrics.sidecarConnected.set(0);
    this.options.logger.warn('sidecar connection lost', {
      address: this.options.address,
      state: grpc.connectivityState[state],
    });
  }
}
