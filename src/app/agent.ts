import { EventEmitter } from 'node:events';
import { Registry } from 'prom-client';
import type { AgentConfig } from '../config/agent-config.js';
import type { DesiredState } from '../domain/component.js';
import { ConfigError, errorMessage, PushError } from '../domain/errors.js';
import { KnownSecrets, redactText } from '../domain/masking.js';
import type { SourceSnapshot } from '../domain/snapshot.js';
import { LedgerRecorder } from '../ledger/ledger-recorder.js';
import { LedgerStore } from '../ledger/ledger-store.js';
import { checkStateDir } from '../storage/state-dir.js';
import { HealthServer, type Readiness } from '../observability/health-server.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { createMetrics, type AgentMetrics } from '../observability/metrics.js';
import { planChanges } from '../planner/plan-changes.js';
import { Pusher, type PushOutcome } from '../push/pusher.js';
import { GrpcSidecarClient } from '../sidecar/grpc-sidecar-client.js';
import type { SidecarClient } from '../sidecar/sidecar-client.js';
import type { Source } from '../sources/source.js';
import { AGENT_VERSION } from '../version.js';
import { createSources, sameSources } from './create-sources.js';
import { computeReadiness, countInSync } from './readiness.js';
import { ReleaseGate, type RejectedRelease } from './release-gate.js';
import { buildStatus, type AgentStatus } from './status.js';

export interface AgentEvents {
  /** The sidecar accepted a component. */
  applied: [outcome: PushOutcome];
  /** The sidecar refused a component with a non-retryable code, or it was too large to send. */
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

/** The sidecar client and the pusher that speaks through it: replaced together when the address changes. */
interface SidecarLink {
  readonly client: SidecarClient;
  readonly pusher: Pusher;
  readonly unsubscribe: () => void;
}

/**
 * The long-running agent: sources → release gate (parse, last good) → mapper → planner →
 * pusher → sidecar, with the ledger, health and metrics around it. `createAgent` is the
 * library API; the `run` command is a thin layer over it.
 *
 * Push state has one owner, the pusher's per-component queues: every input (a release, a
 * sidecar reconnection, the periodic resync, a reload) ends in `reconcile()`, which submits
 * the whole desired set; the queues send only what the current connection has not settled.
 */
export class Agent extends EventEmitter<AgentEvents> {
  readonly metrics: AgentMetrics;
  readonly logger: Logger;
  private readonly knownSecrets: KnownSecrets;
  private config: AgentConfig;
  private gate: ReleaseGate;
  private desired: DesiredState = { components: new Map(), warnings: [] };
  private readonly ledger: LedgerRecorder;
  private link: SidecarLink | undefined;
  private sources: readonly Source[];
  private sourcesAbort = new AbortController();
  private sourceTasks: Promise<void>[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private http: HealthServer | undefined;
  private lastWarnings = new Set<string>();
  /** The in-sync gauge is refreshed once per event-loop turn, not once per outcome. */
  private gaugeScheduled: NodeJS.Immediate | undefined;
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  /** The reload under way (settled): reloads run one at a time, and stop() waits for it. */
  private reloading: Promise<void> = Promise.resolve();

  constructor(private readonly options: CreateAgentOptions) {
    super();
    this.config = options.config;
    this.knownSecrets = options.knownSecrets ?? new KnownSecrets();
    this.logger =
      options.logger ??
      createLogger({ level: options.config.logLevel, format: options.config.logFormat, knownSecrets: this.knownSecrets });
    this.metrics = createMetrics(options.registry ?? new Registry());
    this.metrics.initNamespaces([...(this.config.apollo?.namespaces ?? []), ...this.config.files]);
    this.ledger = new LedgerRecorder(
      new LedgerStore(this.config.stateDir, this.logger, { cacheSecrets: this.config.cacheSecrets, metrics: this.metrics }),
    );
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

  /**
   * Starts everything and returns; the first sync continues in the background (see
   * `readiness()`). All or nothing: if it throws (an unreadable ledger, a port in use), nothing
   * is left running and the agent is stopped.
   */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`agent cannot start: it is ${this.state}`);
    this.state = 'starting';
    try {
      await checkStateDir(this.config.stateDir);
      await this.ledger.load();
      this.knownSecrets.replace(Object.values(this.ledger.state.components));
      this.http = await this.startHttp(this.config);
    } catch (error) {
      this.state = 'stopped';
      throw error;
    }
    this.state = 'running';
    this.link = this.connectSidecar(this.config);
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
   * rest, flushes the ledger and releases every handle. Nothing is recorded or emitted after
   * it returns. A no-op unless the agent is running.
   */
  async stop(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    const deadline = Date.now() + (this.options.drainTimeoutMs ?? DEFAULT_DRAIN_MS);
    // A reload under way finishes first, so that what it started (sources, a sidecar link, a timer) is stopped below.
    await this.reloading;
    clearInterval(this.resyncTimer);
    this.sourcesAbort.abort();
    const link = this.link!;
    const drained = await link.pusher.drain(Math.max(0, deadline - Date.now()));
    if (!drained) this.logger.warn('shutdown: pushes still in flight were abandoned');
    this.closeLink(link);
    await this.ledger.close();
    clearImmediate(this.gaugeScheduled);
    // Stopped sources write their pending cache: given a moment even when the drain used it all.
    await Promise.race([Promise.allSettled(this.sourceTasks), delay(Math.max(SOURCE_STOP_MS, deadline - Date.now()))]);
    await this.http?.close();
    this.state = 'stopped';
    this.logger.info('agent stopped', { drained });
  }

  /**
   * Swaps in a new config (SIGHUP). All or nothing: new mapping rules must map the current
   * releases cleanly and a new HTTP address must bind, or an error is thrown and the old
   * config keeps running whole. Reloads run one after the other.
   */
  reload(next: AgentConfig): Promise<void> {
    const run = this.reloading.then(() => this.reloadNow(next));
    this.reloading = run.catch(() => undefined);
    return run;
  }

  private async reloadNow(next: AgentConfig): Promise<void> {
    if (this.state !== 'running') throw new Error(`agent cannot reload: it is ${this.state}`);
    const previous = this.config;
    const keepSources = this.options.sources !== undefined || sameSources(previous, next);
    const http = JSON.stringify(next.http) !== JSON.stringify(previous.http) ? await this.prepareHttp(next) : undefined;
    if (keepSources) {
      const rejected = this.gate.replaceRules(next.components);
      if (rejected.length > 0) {
        await http?.rollback();
        throw new ConfigError(
          'the new mapping rules do not map the current releases',
          rejected.map((r) => `${r.namespace}@${r.releaseKey}: ${r.error.message}`),
        );
      }
    }
    await http?.commit();

    // Nothing below can fail: the new config is committed.
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
    if (next.sidecar !== previous.sidecar || next.maxPushBytes !== previous.maxPushBytes) {
      this.closeLink(this.link!);
      this.link = this.connectSidecar(next);
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
      sidecar: { address: this.config.sidecar, connected: this.isConnected() },
      sourcesLoaded: this.gate.isComplete(),
      desired: this.desired.components,
      pushState: (id) => this.link?.pusher.stateOf(id),
      ledger: this.ledger.state.components,
      sources: this.sources.flatMap((source) => source.status()),
    });
  }

  /** `/readyz`: ready once the current sidecar has answered for every desired component. */
  readiness(): Readiness {
    const pusher = this.link?.pusher;
    return computeReadiness({
      connected: this.isConnected(),
      sourcesLoaded: this.gate.isComplete(),
      desired: this.desired,
      pushState: (id) => pusher?.stateOf(id),
      ledgerWriteError: this.ledger.writeError,
      sources: this.sources.flatMap((source) => source.status()),
    });
  }

  get httpAddress(): string | undefined {
    return this.http?.address;
  }

  /**
   * Maps the last good releases and submits the whole desired set; the pusher sends only what
   * the current sidecar connection has not settled. Removals are judged against the ledger.
   */
  private reconcile(observedAt?: number): void {
    if (this.state !== 'running' || !this.gate.isComplete()) return;
    const previous = this.desired;
    this.desired = this.gate.desired();
    // What the sidecar may quote back in an error: the secrets of what is pushed and of what it ran before.
    if (this.desired !== previous) {
      this.knownSecrets.replace([...this.desired.components.values(), ...Object.values(this.ledger.state.components)]);
    }
    this.logWarnings(this.desired.warnings);
    this.metrics.componentsDesired.set(this.desired.components.size);
    const plan = planChanges(this.desired, this.ledger.state, { all: true });
    const { pusher } = this.link!;
    for (const component of plan.push) pusher.submit({ component, ...(observedAt !== undefined ? { observedAt } : {}) });
    const removed = plan.changes.filter((change) => change.action === 'remove').map((change) => change.id);
    for (const id of removed) {
      this.logger.warn('component has no keys left; Layotto cannot unload it, so it keeps its last config', { component: id });
      // If its keys come back, it is pushed again (even unchanged), so that the ledger marks it applied again.
      pusher.forget(id);
    }
    this.ledger.markRemoved(removed);
    this.scheduleGauge();
  }

  private isConnected(): boolean {
    return this.state === 'running' && this.link !== undefined && this.link.client.isConnected();
  }

  private async startHttp(config: AgentConfig): Promise<HealthServer | undefined> {
    const { http } = config;
    if (http === 'off') return undefined;
    return HealthServer.start({
      host: http.host,
      port: http.port,
      registry: this.metrics.registry,
      readiness: () => this.readiness(),
      status: () => this.status(),
      logger: this.logger,
      knownSecrets: this.knownSecrets,
    });
  }

  /**
   * Binds the health server at `next.http`, the old one still serving: `commit()` closes the
   * old one, `rollback()` the new one. Only the old port on another host needs the old server
   * closed first; if even then it cannot bind, the old server is brought back. Either way a
   * ConfigError is thrown when the new address cannot be served.
   */
  private async prepareHttp(next: AgentConfig): Promise<{ commit: () => Promise<void>; rollback: () => Promise<void> }> {
    const old = this.http;
    const swap = (server: HealthServer | undefined, closed: HealthServer | undefined) => ({
      commit: async () => {
        this.http = server;
        await closed?.close();
      },
      rollback: async () => {
        await server?.close();
        if (closed === undefined) this.http = await this.restartHttp();
      },
    });
    try {
      return swap(await this.startHttp(next), old);
    } catch (error) {
      const samePort = next.http !== 'off' && old !== undefined && old.port === next.http.port;
      if (!samePort) throw new ConfigError(`cannot serve HTTP on ${formatHttp(next)}: ${errorMessage(error)}`);
      // Tried again below with the old server out of the way.
    }
    await old?.close();
    this.http = undefined;
    try {
      return swap(await this.startHttp(next), undefined);
    } catch (error) {
      this.http = await this.restartHttp();
      throw new ConfigError(`cannot serve HTTP on ${formatHttp(next)}: ${errorMessage(error)}`);
    }
  }

  /** The health server at the running config's address again, after a failed move. */
  private async restartHttp(): Promise<HealthServer | undefined> {
    try {
      return await this.startHttp(this.config);
    } catch (error) {
      this.logger.error('could not serve HTTP on its address again', { http: formatHttp(this.config), error: errorMessage(error) });
      return undefined;
    }
  }

  private connectSidecar(config: AgentConfig): SidecarLink {
    const client =
      this.options.sidecarClient?.(config.sidecar) ??
      new GrpcSidecarClient({ address: config.sidecar, logger: this.logger, metrics: this.metrics });
    const pusher = new Pusher({
      client,
      logger: this.logger,
      metrics: this.metrics,
      maxPushBytes: config.maxPushBytes,
      onOutcome: (outcome) => this.onOutcome(outcome),
    });
    const unsubscribe = client.onConnected(() => {
      if (this.state !== 'running') return;
      this.logger.info('pushing the full desired set to the (re)connected sidecar', { sidecar: config.sidecar });
      pusher.reconnected();
      this.metrics.resyncs.inc({ reason: 'reconnect' });
      this.reconcile();
    });
    return { client, pusher, unsubscribe };
  }

  private closeLink(link: SidecarLink): void {
    link.pusher.stop();
    link.unsubscribe();
    link.client.close();
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

  /** The periodic resync is a plain reconcile: the queues re-send only what this connection has not settled. */
  private scheduleResync(): void {
    clearInterval(this.resyncTimer);
    this.resyncTimer = undefined;
    if (this.config.resyncIntervalMs <= 0) return;
    this.resyncTimer = setInterval(() => {
      if (this.state !== 'running') return;
      this.metrics.resyncs.inc({ reason: 'periodic' });
      this.reconcile();
    }, this.config.resyncIntervalMs);
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

  private onOutcome(outcome: PushOutcome): void {
    // A call that ends after stop() (its drain timed out) is neither recorded nor reported.
    if (this.state !== 'running' && this.state !== 'stopping') return;
    this.ledger.onOutcome(outcome);
    const { component } = outcome;
    switch (outcome.result) {
      case 'applied':
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
        this.emitError(
          // The host may log it as it is: the sidecar's text is scrubbed of the component's secrets first.
          new PushError(`push of ${component.id} failed`, component.id, outcome.code ?? 'UNKNOWN', redactText(outcome.message ?? '', this.knownSecrets)),
        );
        break;
      case 'superseded':
      case 'abandoned':
        break;
    }
    this.scheduleGauge();
  }

  /** The in-sync gauge waits a turn: the calls just submitted go on the wire first. */
  private scheduleGauge(): void {
    this.gaugeScheduled ??= setImmediate(() => {
      this.gaugeScheduled = undefined;
      const pusher = this.link?.pusher;
      this.metrics.componentsInSync.set(
        countInSync({ desired: this.desired, connected: this.isConnected(), pushState: (id) => pusher?.stateOf(id) }),
      );
    });
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

function formatHttp(config: AgentConfig): string {
  return config.http === 'off' ? 'off' : `${config.http.host}:${config.http.port}`;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolvePromise) => setTimeout(resolvePromise, ms).unref());
}

/** The library API (CONTRACT.md section 1): an agent to `start()` and `stop()` inside any Node process. */
export function createAgent(options: CreateAgentOptions): Agent {
  return new Agent(options);
}
