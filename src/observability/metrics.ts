import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { AGENT_VERSION } from '../version.js';

const PREFIX = 'apollo_sidecar_agent_';

/** The label values each counter can take, so every series exists at 0 before its first event. */
const APPLY_RESULTS = ['applied', 'rejected', 'failed'] as const;
const RESYNC_REASONS = ['reconnect', 'periodic', 'reload'] as const;
const POLL_RESULTS = ['changed', 'unchanged', 'error'] as const;
const FETCH_RESULTS = ['ok', 'not_modified', 'not_found', 'error'] as const;
const RELOAD_RESULTS = ['success', 'failure'] as const;
const STATE_FILES = ['ledger', 'apollo_cache'] as const;

export type ApplyResult = (typeof APPLY_RESULTS)[number];
export type ReloadResult = (typeof RELOAD_RESULTS)[number];
/** The files of the state dir whose write failures are counted. */
export type StateFile = (typeof STATE_FILES)[number];

/**
 * Every metric the agent exports. Built on a registry that the caller owns, never the
 * global one, so that several agents (tests, embedding) can live in one process.
 */
export interface AgentMetrics {
  readonly registry: Registry;
  /** Always 1; its `version` label says which agent a pod runs. */
  readonly buildInfo: Gauge<'version'>;
  /** One per push's outcome: applied, rejected (not retryable), failed (gave up). */
  readonly applies: Counter<'kind' | 'name' | 'result'>;
  /** One per ApplyConfiguration call, retries included: attempts minus outcomes are retries. */
  readonly applyAttempts: Counter<'kind' | 'name'>;
  readonly applyDuration: Histogram<'kind'>;
  /** From the moment a source noticed a release to the sidecar's OK. */
  readonly releaseToApply: Histogram;
  readonly componentsDesired: Gauge;
  readonly componentsInSync: Gauge;
  readonly sidecarConnected: Gauge;
  readonly sidecarConnections: Counter;
  readonly lastApplyTime: Gauge;
  readonly resyncs: Counter<'reason'>;
  /** Apollo long-polls by result: changed, unchanged, error. */
  readonly apolloPolls: Counter<'result'>;
  /** Unix time of the last long-poll Apollo answered (changed or unchanged); 0 until the first. */
  readonly apolloLastSuccessfulPoll: Gauge;
  /** Apollo namespace fetches by result: ok, not_modified, not_found, error. */
  readonly apolloFetches: Counter<'result'>;
  /** Releases that could not be parsed or mapped and were rejected whole. */
  readonly releasesRejected: Counter<'namespace'>;
  /** SIGHUP reloads of the agent config: success, failure (the old config stays). */
  readonly configReloads: Counter<'result'>;
  /** Failed writes of the state dir's files: ledger, apollo_cache. */
  readonly stateWriteFailures: Counter<'file'>;
  /** Puts a component's series at 0 before its first push, so `increase()` sees the first one. */
  initComponent(kind: string, name: string): void;
  /** Puts a namespace's (or file's) rejected-release series at 0 before its first release. */
  initNamespaces(namespaces: readonly string[]): void;
}

/**
 * The agent's metrics on `registry`. Process and Node metrics are not among them: an embedding
 * process registers its own, and `run` adds them with `registerProcessMetrics`.
 */
export function createMetrics(registry: Registry = new Registry()): AgentMetrics {
  const registers = [registry];
  const buildInfo = new Gauge({
    name: `${PREFIX}build_info`,
    help: 'Always 1, labelled with the agent version',
    labelNames: ['version'] as const,
    registers,
  });
  buildInfo.set({ version: AGENT_VERSION }, 1);
  const applies = new Counter({
    name: `${PREFIX}applies_total`,
    help: 'Push outcomes by component and result (applied, rejected: not retryable, failed: gave up)',
    labelNames: ['kind', 'name', 'result'] as const,
    registers,
  });
  const applyAttempts = new Counter({
    name: `${PREFIX}apply_attempts_total`,
    help: 'ApplyConfiguration calls by component, retries included',
    labelNames: ['kind', 'name'] as const,
    registers,
  });
  const releasesRejected = new Counter({
    name: `${PREFIX}releases_rejected_total`,
    help: 'Releases rejected whole because their content could not be parsed or mapped',
    labelNames: ['namespace'] as const,
    registers,
  });
  return {
    registry,
    buildInfo,
    applies,
    applyAttempts,
    applyDuration: new Histogram({
      name: `${PREFIX}apply_duration_seconds`,
      help: 'Duration of one ApplyConfiguration call',
      labelNames: ['kind'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    releaseToApply: new Histogram({
      name: `${PREFIX}release_to_apply_seconds`,
      help: 'From the agent noticing a release to the sidecar accepting the component',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    componentsDesired: new Gauge({ name: `${PREFIX}components_desired`, help: 'Components in the desired set', registers }),
    componentsInSync: new Gauge({
      name: `${PREFIX}components_in_sync`,
      help: 'Components whose desired config the current sidecar has accepted',
      registers,
    }),
    sidecarConnected: new Gauge({ name: `${PREFIX}sidecar_connected`, help: '1 while the gRPC channel to the sidecar is ready', registers }),
    sidecarConnections: new Counter({
      name: `${PREFIX}sidecar_connections_total`,
      help: '(Re)connections to the sidecar, each followed by a full re-push',
      registers,
    }),
    lastApplyTime: new Gauge({
      name: `${PREFIX}last_successful_apply_timestamp_seconds`,
      help: 'Unix time of the last successful ApplyConfiguration',
      registers,
    }),
    resyncs: zeroed(
      new Counter({
        name: `${PREFIX}resyncs_total`,
        help: 'Re-pushes of the desired set by reason (reconnect: every sidecar (re)connection, the first included; periodic; reload)',
        labelNames: ['reason'] as const,
        registers,
      }),
      'reason',
      RESYNC_REASONS,
    ),
    apolloPolls: zeroed(
      new Counter({
        name: `${PREFIX}apollo_polls_total`,
        help: 'Apollo notifications/v2 long-polls by result (changed, unchanged, error)',
        labelNames: ['result'] as const,
        registers,
      }),
      'result',
      POLL_RESULTS,
    ),
    apolloLastSuccessfulPoll: new Gauge({
      name: `${PREFIX}apollo_last_successful_poll_timestamp_seconds`,
      help: 'Unix time of the last Apollo long-poll answered with changes or none (0: none yet)',
      registers,
    }),
    apolloFetches: zeroed(
      new Counter({
        name: `${PREFIX}apollo_fetches_total`,
        help: 'Apollo configs fetches by result (ok, not_modified, not_found, error)',
        labelNames: ['result'] as const,
        registers,
      }),
      'result',
      FETCH_RESULTS,
    ),
    releasesRejected,
    configReloads: zeroed(
      new Counter({
        name: `${PREFIX}config_reloads_total`,
        help: 'SIGHUP reloads of the agent config by result (success; failure: the running config stays)',
        labelNames: ['result'] as const,
        registers,
      }),
      'result',
      RELOAD_RESULTS,
    ),
    stateWriteFailures: zeroed(
      new Counter({
        name: `${PREFIX}state_write_failures_total`,
        help: 'Failed writes to the state dir by file (ledger, apollo_cache)',
        labelNames: ['file'] as const,
        registers,
      }),
      'file',
      STATE_FILES,
    ),
    initComponent(kind, name) {
      for (const result of APPLY_RESULTS) applies.inc({ kind, name, result }, 0);
      applyAttempts.inc({ kind, name }, 0);
    },
    initNamespaces(namespaces) {
      for (const namespace of namespaces) releasesRejected.inc({ namespace }, 0);
    },
  };
}

/** prom-client shows a labelled series only once it is touched: `inc(0)` makes it exist at 0. */
function zeroed<L extends string>(counter: Counter<L>, label: L, values: readonly string[]): Counter<L> {
  for (const value of values) counter.inc({ [label]: value } as Partial<Record<L, string>>, 0);
  return counter;
}

/**
 * The standard process and Node metrics (`process_resident_memory_bytes`, `nodejs_heap_size_used_bytes`,
 * ...) under their standard names, so stock Node dashboards and alerts match them. `run` registers
 * them; the library API leaves them to the embedding process, which may have its own.
 */
export function registerProcessMetrics(registry: Registry): void {
  // prom-client samples event-loop delay every 10 ms by default: 100 wake-ups a second that
  // cost an idle agent most of its CPU. One sample a second is plenty for a config agent.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1000 });
}
