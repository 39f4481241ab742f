import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const PREFIX = 'apollo_sidecar_agent_';

/**
 * Every metric the agent exports. Built on a registry that the caller owns, never the
 * global one, so that several agents (tests, embedding) can live in one process.
 */
export interface AgentMetrics {
  readonly registry: Registry;
  /** One per ApplyConfiguration outcome: applied, rejected (not retryable), failed (gave up), retry. */
  readonly applies: Counter<'kind' | 'name' | 'result'>;
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
  /** Apollo namespace fetches by result: ok, not_modified, not_found, error. */
  readonly apolloFetches: Counter<'result'>;
  /** Releases that could not be parsed or mapped and were rejected whole. */
  readonly releasesRejected: Counter<'namespace'>;
}

export function createMetrics(registry: Registry = new Registry(), options: { processMetrics?: boolean } = {}): AgentMetrics {
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: PREFIX });
  const registers = [registry];
  return {
    registry,
    applies: new Counter({
      name: `${PREFIX}applies_total`,
      help: 'ApplyConfiguration outcomes by component and result (applied, rejected, failed, retry)',
      labelNames: ['kind', 'name', 'result'] as const,
      registers,
    }),
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
    resyncs: new Counter({
      name: `${PREFIX}resyncs_total`,
      help: 'Full re-pushes of the desired set by reason (start, reconnect, periodic, reload)',
      labelNames: ['reason'] as const,
      registers,
    }),
    apolloPolls: new Counter({
      name: `${PREFIX}apollo_polls_total`,
      help: 'Apollo notifications/v2 long-polls by result (changed, unchanged, error)',
      labelNames: ['result'] as const,
      registers,
    }),
    apolloFetches: new Counter({
      name: `${PREFIX}apollo_fetches_total`,
      help: 'Apollo configs fetches by result (ok, not_modified, not_found, error)',
      labelNames: ['result'] as const,
      registers,
    }),
    releasesRejected: new Counter({
      name: `${PREFIX}releases_rejected_total`,
      help: 'Releases rejected whole because their content could not be parsed or mapped',
      labelNames: ['namespace'] as const,
      registers,
    }),
  };
}
