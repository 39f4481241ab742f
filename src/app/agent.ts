import { EventEmitter } from 'node:events';
import { Registry } from 'prom-client';
import type { AgentConfig } from '../config/agent-config.js';
import type { ComponentId, DesiredState } from '../domain/component.js';
import { ConfigError, errorMessage, PushError } from '../domain/errors.js';
import { EMPTY_LEDGER, type LedgerState } from '../domain/ledger.js';
import { KnownSecrets } from '../domain/masking.js';
import type { SourceSnapshot } from '../domain/snapshot.js';
import { LedgerStore } from '../ledger/ledger-store.js';
import { checkStateDir } from '../storage/state-dir.js';
import { HealthServer, type Readiness } from '../observability/health-server.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { createMetrics, type AgentMetrics } from '../observability/metrics.js';
import { recordAppliedAll, recordRemoved, type AppliedComponent } from '../planner/ledger-updates.js';
import { planPushes } from '../planner/plan-pushes.js';
import { Pusher, type PushOutcome } from '../push/pusher.js';
import { GrpcSidecarClient } from '../sidecar/grpc-sidecar-client.js';
import type { SidecarClient } from '../sidecar/sidecar-client.js';
import type { Source } from '../sources/source.js';
import { AGENT_VERSION } from '../version.js';
import { createSources, sameSources } from './create-sources.js';
import { ReleaseGate, type RejectedRelease } from './release-gate.js';
import { buildStatus, type AgentStatus } from './status.js';

export interface AgentEvents {
  /** The sidecar accepted a component. */
  applied: [outcome: PushOutcome];
  /** The sidecar refused a component with a non-retryable code; that version is quarantined. */
  rejected: [outcome: PushOutcome];
  /** Something an operator should know: a rejected release, a push that gave up. Never fatal. */
  error: [error: Error];
}

export interface CreateAgentOptions {
  readonly config: AgentConfig;
  readonly logger?: Logger;
  /** A registry of the caller's; a fresh one otherwise. Process metrics are the caller's choice. */
  readonly registry?: Registry;
  /** Replaces the sources the config asks for (embedding, tests). */
  readonly sources?: readonly Source[];
  /** Replaces the gRPC client (embedding, tests). Called again when a reload changes the address. */
  readonly sidecarClient?: (address: string) => SidecarClient;
  /**
   * The secret values the agent learns from its components, scrubbed from every log line and
   * served body: pass the one given to `createLogger({ knownSecrets })` with your own logger.
   */
  readonly knownSecrets?: KnownSecrets;
  /** How long `stop()` lets pushes in flight finish. Default 5 s (CONTRACT.md section 8). */
  readonly drainTimeoutMs?: number;
}

/** How long a component's release waits at most for a push slot after shutdown starts. */
const DEFAULT_DRAIN_MS = 5_000;
/** The least time stopped sources get to finish (their last cache write) after the drain. */
const SOURCE_STOP_MS = 1_000;

/**
 * The long-running agent: sources → release gate (parse, last good) → mapper → planner →
 * pusher → sidecar, with the ledger, health and metrics around it. `createAgent` is the
 * library API; the `run` command is a thin layer over it.
 */
export class Agent extends EventEmitter<AgentEvents> {
  readonly metrics: AgentMetrics;
  readonly logger: Logger;
  private readonly knownSecrets: KnownSecrets;
  private config: AgentConfig;
  private gate: ReleaseGate;
  private desired: DesiredState = { components: new Map(), warnings: [] };
  /** What has been handed to the pusher since the last (re)connection: pushes are planned against it. */
  private handedOver = new Map<ComponentId, string>();
  /** What the sidecar last accepted, persisted: removals are judged against it. */
  private ledger: LedgerState = EMPTY_LEDGER;
  private readonly ledgerStore: LedgerStore;
  private client!: SidecarClient;
  private pusher!: Pusher;
  private unsubscribeConnected: (() => void) | undefined;
  private sources: readonly Source[];
  private sourcesAbort = new AbortController();
  private sourceTasks: Promise<void>[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private http: HealthServer | undefined;
  private lastWarnings = new Set<string>();
  /** Applies not yet in the ledger: outcomes are folded in once per event-loop turn, not one by one. */
  private appliedBatch: AppliedComponent[] = [];
  private settleScheduled: NodeJS.Immediate | undefined;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';

  constructor(private readonly options: CreateAgentOptions) {
    super();
    this.config = options.config;
    this.knownSecrets = options.knownSecrets ?? new KnownSecrets();
    this.logger =
      options.logger ??
      createLogger({ level: options.config.logLevel, format: options.config.logFormat, knownSecrets: this.knownSecrets });
    this.metrics = createMetrics(options.registry ?? new Registry());
    this.metrics.initNamespaces([...(this.config.apollo?.namespaces ?? []), ...this.config.files]);
    this.ledgerStore = new LedgerStore(this.config.stateDir, this.logger, { cacheSecrets: this.config.cacheSecrets });
    this.sources = options.sources ?? createSources(this.config, this.logger, this.metrics);
    this.gate = this.createGate(this.config.components);
  }

  /** The gate over the current sources; a source that keeps a local copy is told each release the gate took. */
  private createGate(rules: AgentConfig['components']): ReleaseGate {
    const sources = this.sources;
    return new ReleaseGate(
      rules,
      sources.map((source) => source.id),
      (sourceId, release) => sources.find((source) => source.id === sourceId)?.accepted?.(release),
    );
  }

  /** Starts everything and returns; the first sync continues in the background (see `readiness()`). */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`agent cannot start: it is ${this.state}`);
    await checkStateDir(this.config.stateDir);
    this.state = 'running';
    this.ledger = await this.ledgerStore.load();
    this.knownSecrets.replace(Object.values(this.ledger.components));
    await this.startHttp();
    this.connectSidecar();
    this.startSources();
    this.scheduleResync();
    this.logger.info('agent started', {
      sidecar: this.config.sidecar,
      sources: this.sources.map((source) => source.id),
      http: this.http?.address ?? 'off',
    });
  }

  /**
   * Stops polling, lets pushes in flight finish for up to the drain timeout, abandons the
   * rest, flushes the ledger and releases every handle.
   */
  async stop(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    const deadline = Date.now() + (this.options.drainTimeoutMs ?? DEFAULT_DRAIN_MS);
    clearInterval(this.resyncTimer);
    this.sourcesAbort.abort();
    const drained = await this.pusher.drain(Math.max(0, deadline - Date.now()));
    if (!drained) this.logger.warn('shutdown: pushes still in flight were abandoned');
    this.pusher.stop();
    this.settleOutcomes();
    await this.ledgerStore.flush();
    this.unsubscribeConnected?.();
    this.client.close();
    // Stopped sources write their pending cache: given a moment even when the drain used it all.
    await Promise.race([Promise.allSettled(this.sourceTasks), delay(Math.max(SOURCE_STOP_MS, deadline - Date.now()))]);
    await this.http?.close();
    this.state = 'stopped';
    this.logger.info('agent stopped', { drained });
  }

  /**
   * Swaps in a new config (SIGHUP). Validated whole before anything changes: new mapping rules
   * must map the current releases cleanly, or a ConfigError is thrown and the old config stays.
   */
  async reload(next: AgentConfig): Promise<void> {
    if (this.state !== 'running') throw new Error(`agent cannot reload: it is ${this.state}`);
    const keepSources = this.options.sources !== undefined || sameSources(this.config, next);
    if (keepSources) {
      const rejected = this.gate.replaceRules(next.components);
      if (rejected.length > 0) {
        throw new ConfigError(
          'the new mapping rules do not map the current releases',
          rejected.map((r) => `${r.namespace}@${r.releaseKey}: ${r.error.message}`),
        );
      }
    }
    const previous = this.config;
    this.config = next;
    this.logger.level = next.logLevel;
    this.metrics.initNamespaces([...(next.apollo?.namespaces ?? []), ...next.files]);
    if (!keepSources) {
      this.sourcesAbort.abort();
      await Promise.allSettled(this.sourceTasks);
      this.sources = createSources(next, this.logger, this.metrics);
      // A fresh gate pushes nothing until every new source has delivered, so no half-read config goes out.
      this.gate = this.createGate(next.components);
      this.startSources();
    }
    if (next.sidecar !== previous.sidecar) {
      this.pusher.stop();
      this.unsubscribeConnected?.();
      this.client.close();
      this.handedOver = new Map();
      this.connectSidecar();
    }
    if (JSON.stringify(next.http) !== JSON.stringify(previous.http)) {
      await this.http?.close();
      this.http = undefined;
      await this.startHttp();
    }
    if (next.resyncIntervalMs !== previous.resyncIntervalMs) this.scheduleResync();
    this.metrics.resyncs.inc({ reason: 'reload' });
    this.reconcile();
    this.logger.info('agent config reloaded', { sourcesRestarted: !keepSources, sidecar: next.sidecar });
  }

  /** `/status`: what the sidecar runs per component, and what each source last read. */
  status(): AgentStatus {
    return buildStatus({
      version: AGENT_VERSION,
      now: Date.now(),
      sidecar: { address: this.config.sidecar, connected: this.state === 'running' && this.client.isConnected() },
      sourcesLoaded: this.gate.isComplete(),
      desired: this.desired.components,
      pushed: this.pusher?.status() ?? new Map(),
      ledger: this.ledger.components,
      sources: this.sources.flatMap((source) => source.status()),
    });
  }

  /** `/readyz`: ready once the current sidecar has answered for every desired component. */
  readiness(): Readiness {
    const connected = this.state === 'running' && this.client.isConnected();
    const status = this.pusher?.status() ?? new Map();
    const components: Record<ComponentId, { state: string; code?: string; message?: string }> = {};
    let settled = 0;
    for (const [id, component] of this.desired.components) {
      const pushed = status.get(id);
      const current = pushed !== undefined && pushed.hash === component.hash;
      const state = current ? pushed.state : 'pending';
      if (state === 'applied' || state === 'rejected' || state === 'failed') settled += 1;
      components[id] = {
        state,
        ...(current && pushed.code ? { code: pushed.code } : {}),
        ...(current && pushed.message ? { message: pushed.message } : {}),
      };
    }
    const sourcesLoaded = this.gate.isComplete();
    return {
      ready: connected && sourcesLoaded && settled === this.desired.components.size,
      detail: { sidecar: connected ? 'connected' : 'disconnected', sourcesLoaded, components },
    };
  }

  get httpAddress(): string | undefined {
    return this.http?.address;
  }

  private async startHttp(): Promise<void> {
    const { http } = this.config;
    if (http === 'off') return;
    this.http = await HealthServer.start({
      host: http.host,
      port: http.port,
      registry: this.metrics.registry,
      readiness: () => this.readiness(),
      status: () => this.status(),
      logger: this.logger,
      knownSecrets: this.knownSecrets,
    });
  }

  private connectSidecar(): void {
    this.client =
      this.options.sidecarClient?.(this.config.sidecar) ??
      new GrpcSidecarClient({ address: this.config.sidecar, logger: this.logger, metrics: this.metrics });
    this.pusher = new Pusher({
      client: this.client,
      logger: this.logger,
      metrics: this.metrics,
      onOutcome: (outcome) => this.onOutcome(outcome),
    });
    this.unsubscribeConnected = this.client.onConnected(() => {
      this.logger.info('pushing the full desired set to the (re)connected sidecar', { sidecar: this.config.sidecar });
      // A restarted sidecar knows nothing: versions it rejected before may be fine now.
      this.pusher.clearQuarantine();
      this.resync('reconnect');
    });
  }

  private startSources(): void {
    this.sourcesAbort = new AbortController();
    const { signal } = this.sourcesAbort;
    const gate = this.gate;
    this.sourceTasks = this.sources.map((source) =>
      source
        .watch((snapshot) => {
          // A snapshot from a source replaced by a reload must not reach the new gate.
          if (!signal.aborted && gate === this.gate) this.onSnapshot(snapshot);
        }, signal)
        .catch((error: unknown) => {
          this.logger.error('source stopped unexpectedly', { source: source.id, error: errorMessage(error) });
        }),
    );
  }

  private scheduleResync(): void {
    clearInterval(this.resyncTimer);
    this.resyncTimer = undefined;
    if (this.config.resyncIntervalMs <= 0) return;
    this.resyncTimer = setInterval(() => this.resync('periodic'), this.config.resyncIntervalMs);
    this.resyncTimer.unref();
  }

  private onSnapshot(snapshot: SourceSnapshot): void {
    try {
      for (const rejected of this.gate.accept(snapshot)) this.onRejectedRelease(rejected);
      if (this.gate.isComplete()) this.reconcile(snapshot.observedAt);
    } catch (error) {
      this.logger.error('could not process a snapshot; the last good config stays', {
        source: snapshot.sourceId,
        revision: snapshot.revision,
        error: errorMessage(error),
      });
    }
  }

  private onRejectedRelease({ namespace, releaseKey, error }: RejectedRelease): void {
    this.metrics.releasesRejected.inc({ namespace });
    this.logger.error('release rejected: nothing of it is pushed, the last good config stays', {
      namespace,
      releaseKey,
      error: error.message,
    });
    this.emitError(error);
  }

  /** Everything is pushed again: after a (re)connection, periodically, or on request. */
  private resync(reason: 'reconnect' | 'periodic'): void {
    if (this.state !== 'running') return;
    this.metrics.resyncs.inc({ reason });
    this.handedOver = new Map();
    if (this.gate.isComplete()) this.reconcile();
  }

  /** Maps the last good releases, then pushes what differs from what was already handed over. */
  private reconcile(observedAt?: number): void {
    if (this.state !== 'running' || !this.gate.isComplete()) return;
    const previous = this.desired;
    this.desired = this.gate.desired();
    // What the sidecar may quote back in an error: the secrets of what is pushed and of what it ran before.
    if (this.desired !== previous) this.knownSecrets.replace([...this.desired.components.values(), ...Object.values(this.ledger.components)]);
    this.logWarnings(this.desired.warnings);
    this.metrics.componentsDesired.set(this.desired.components.size);

    const { push, removed } = planPushes(this.desired, this.ledger, this.handedOver);
    for (const component of push) {
      this.handedOver.set(component.id, component.hash);
      this.pusher.submit({ component, ...(observedAt !== undefined ? { observedAt } : {}) });
    }
    for (const id of removed) {
      this.logger.warn('component has no keys left; Layotto cannot unload it, so it keeps its last config', { component: id });
      this.ledger = recordRemoved(this.ledger, id);
      // A component whose keys come back is pushed again, even with the metadata the sidecar still runs.
      this.handedOver.delete(id);
    }
    if (removed.length > 0) this.ledgerStore.save(this.ledger);
    // The in-sync gauge waits a turn: the calls just submitted go on the wire first.
    this.settleScheduled ??= setImmediate(() => this.settleOutcomes());
  }

  private onOutcome(outcome: PushOutcome): void {
    const { component } = outcome;
    switch (outcome.result) {
      case 'applied':
        this.appliedBatch.push({ component, appliedAt: new Date(outcome.finishedAt).toISOString() });
        this.logger.info('applied', {
          component: component.id,
          hash: component.hash,
          releaseKeys: component.releaseKeys,
          attempts: outcome.attempts,
          ...(outcome.observedAt !== undefined ? { latencyMs: outcome.finishedAt - outcome.observedAt } : {}),
        });
        this.emit('applied', outcome);
        break;
      case 'rejected':
        this.emit('rejected', outcome);
        break;
      case 'failed':
        // Forget the hand-over so that the next release or resync tries this version again.
        if (this.handedOver.get(component.id) === component.hash) this.handedOver.delete(component.id);
        this.emitError(
          new PushError(`push of ${component.id} failed`, component.id, outcome.code ?? 'UNKNOWN', outcome.message ?? ''),
        );
        break;
      case 'superseded':
      case 'abandoned':
        break;
    }
    this.settleScheduled ??= setImmediate(() => this.settleOutcomes());
  }

  /** Records the batch of applies in the ledger and refreshes the in-sync gauge: O(components) per turn. */
  private settleOutcomes(): void {
    clearImmediate(this.settleScheduled);
    this.settleScheduled = undefined;
    if (this.appliedBatch.length > 0) {
      this.ledger = recordAppliedAll(this.ledger, this.appliedBatch);
      this.appliedBatch = [];
      this.ledgerStore.save(this.ledger);
    }
    this.updateInSync();
  }

  private updateInSync(): void {
    let inSync = 0;
    for (const [id, component] of this.desired.components) {
      const pushed = this.pusher.stateOf(id);
      if (pushed?.state === 'applied' && pushed.hash === component.hash) inSync += 1;
    }
    this.metrics.componentsInSync.set(inSync);
  }

  /** Mapper warnings repeat on every reconcile; an operator wants each once, when it appears. */
  private logWarnings(warnings: readonly string[]): void {
    const current = new Set(warnings);
    for (const warning of current) if (!this.lastWarnings.has(warning)) this.logger.warn(warning);
    this.lastWarnings = current;
  }

  /** 'error' is only emitted to listeners: an EventEmitter without one would throw it. */
  private emitError(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolvePromise) => setTimeout(resolvePromise, ms).unref());
}

/** The library API (CONTRACT.md section 1): an agent to `start()` and `stop()` inside any Node process. */
export function createAgent(options: CreateAgentOptions): Agent {
  return new Agent(options);
}
