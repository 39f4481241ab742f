import type { AgentConfig } from '../config/agent-config.js';
import type { ComponentId, DesiredState } from '../domain/component.js';
import { AgentError, errorMessage, MappingError, SourceError } from '../domain/errors.js';
import type { LedgerState } from '../domain/ledger.js';
import type { KnownSecrets } from '../domain/masking.js';
import type { Plan } from '../domain/plan.js';
import { LedgerStore } from '../ledger/ledger-store.js';
import type { Logger } from '../observability/logger.js';
import type { AgentMetrics } from '../observability/metrics.js';
import { recordAppliedAll, recordRemoved, type AppliedComponent } from '../ledger/ledger-updates.js';
import { planChanges } from '../planner/plan-changes.js';
import { Pusher, type PushOutcome } from '../push/pusher.js';
import { GrpcSidecarClient } from '../sidecar/grpc-sidecar-client.js';
import type { Source } from '../sources/source.js';
import { checkStateDir } from '../storage/state-dir.js';
import { createSources } from './create-sources.js';
import { ReleaseGate } from './release-gate.js';

export interface OneShotContext {
  readonly config: AgentConfig;
  readonly logger: Logger;
  readonly metrics: AgentMetrics;
  readonly sources?: readonly Source[];
  /** Dry runs (`diff`, `render`, `validate`, `apply --dry-run`): nothing on disk changes. */
  readonly readOnly: boolean;
  /** What the logger scrubs; filled with the components' secrets before anything is pushed. */
  readonly knownSecrets?: KnownSecrets;
}

export interface LoadedDesired {
  readonly desired: DesiredState;
  /** Every problem found: sources that could not be read, releases that do not map. */
  readonly problems: readonly string[];
}

/**
 * Reads every source once and maps it, collecting every problem instead of stopping at the
 * first (`validate` lists them all; the other commands refuse to go on if there are any).
 */
export async function loadDesired(context: OneShotContext): Promise<LoadedDesired> {
  // Before the Apollo cache in it is read or written.
  await checkStateDir(context.config.stateDir);
  const sources = context.sources ?? createSources(context.config, context.logger, context.metrics);
  // Only a command that may write (apply) tells the sources which releases mapped: the Apollo
  // source caches those, as in `run`; a dry run's loads write nothing.
  const writes: Promise<void>[] = [];
  const gate = new ReleaseGate(
    context.config.components,
    sources.map((source) => source.id),
    (sourceId, release) => {
      if (!context.readOnly) writes.push(Promise.resolve(sources.find((source) => source.id === sourceId)?.accepted?.(release)));
    },
  );
  const problems: string[] = [];
  const snapshots = await Promise.allSettled(sources.map((source) => source.load()));
  snapshots.forEach((result, index) => {
    if (result.status === 'rejected') {
      const source = sources[index]!.id;
      const error: unknown = result.reason;
      problems.push(`${source}: ${error instanceof SourceError ? error.message : errorMessage(error)}`);
      return;
    }
    for (const rejected of gate.accept(result.value)) {
      problems.push(`${rejected.namespace} (release ${rejected.releaseKey}): ${rejected.error.message}`);
    }
  });
  await Promise.all(writes);
  return { desired: gate.desired(), problems };
}

/**
 * loadDesired for the commands that act on the result: any problem stops them. The mapper's
 * warnings are logged here, once, as `run` logs them when they appear.
 */
export async function loadDesiredStrict(context: OneShotContext): Promise<DesiredState> {
  const { desired, problems } = await loadDesired(context);
  if (problems.length > 0) throw new MappingError('the current configuration cannot be used', 'all', problems);
  for (const warning of new Set(desired.warnings)) context.logger.warn(warning);
  return desired;
}

export interface PlannedChange {
  readonly plan: Plan;
  readonly desired: DesiredState;
  readonly ledger: LedgerState;
}

/** `diff` and `apply` start the same way: desired set against the ledger. */
export async function planFromLedger(context: OneShotContext, options: { all?: boolean } = {}): Promise<PlannedChange> {
  return (await planWithStore(context, options)).planned;
}

async function planWithStore(context: OneShotContext, options: { all?: boolean }): Promise<{ planned: PlannedChange; store: LedgerStore }> {
  const desired = await loadDesiredStrict(context);
  const store = new LedgerStore(context.config.stateDir, context.logger, { cacheSecrets: context.config.cacheSecrets });
  const ledger = await store.load({ readOnly: context.readOnly });
  return { planned: { plan: planChanges(desired, ledger, options), desired, ledger }, store };
}

export interface ApplyResult {
  readonly plan: Plan;
  /** What the sidecar answered before the timeout. */
  readonly outcomes: readonly PushOutcome[];
  /** Components it did not accept or refuse before the timeout: still retrying, or their call never answered. */
  readonly unfinished: readonly UnfinishedPush[];
  /** The ledger could not be written: what the sidecar accepted is not recorded, so the next diff or apply would push it again. */
  readonly ledgerError?: string;
}

export interface UnfinishedPush {
  readonly id: ComponentId;
  /** The last failure before the timeout, e.g. `UNAVAILABLE: connection reset`. */
  readonly lastError?: string;
}

/**
 * `apply`: pushes the plan once through the same pusher `run` uses, waits up to `timeoutMs`,
 * and records in the ledger exactly what the sidecar accepted.
 */
export async function applyOnce(context: OneShotContext, options: { all?: boolean; timeoutMs: number }): Promise<ApplyResult> {
  const { planned, store } = await planWithStore(context, options);
  const { plan, desired } = planned;
  let { ledger } = planned;
  context.knownSecrets?.replace([...desired.components.values(), ...Object.values(ledger.components)]);
  const client = new GrpcSidecarClient({ address: context.config.sidecar, logger: context.logger, metrics: context.metrics });
  // A refused connection fails at once; a sidecar that accepts and is slow gets the whole timeout.
  if (plan.push.length > 0 && !(await client.reachable(options.timeoutMs))) {
    client.close();
    throw new AgentError(
      `cannot connect to the sidecar at ${context.config.sidecar}; check that Layotto is running and that --sidecar (SIDECAR_ADDRESS) is its gRPC address`,
    );
  }
  const outcomes: PushOutcome[] = [];
  const applied: AppliedComponent[] = [];
  const pusher = new Pusher({
    client,
    logger: context.logger,
    metrics: context.metrics,
    minIntervalMs: 0,
    onOutcome: (outcome) => {
      outcomes.push(outcome);
      if (outcome.result === 'applied') applied.push({ component: outcome.component, appliedAt: new Date(outcome.finishedAt).toISOString() });
    },
  });
  try {
    for (const component of plan.push) pusher.submit({ component });
    await pusher.drain(options.timeoutMs);
  } finally {
    pusher.stop();
    client.close();
  }
  // A call in flight at the timeout reports nothing until its own deadline: what has no answer now is unfinished.
  const answered = outcomes.filter((outcome) => outcome.result !== 'abandoned');
  const answeredIds = new Set(answered.map((outcome) => outcome.component.id));
  const abandoned = new Map(outcomes.filter((outcome) => outcome.result === 'abandoned').map((outcome) => [outcome.component.id, outcome]));
  const unfinished = plan.push
    .filter((component) => !answeredIds.has(component.id))
    .map((component): UnfinishedPush => {
      const last = abandoned.get(component.id);
      return { id: component.id, ...(last?.code ? { lastError: `${last.code}: ${last.message ?? ''}` } : {}) };
    });
  ledger = recordAppliedAll(ledger, applied);
  for (const change of plan.changes) if (change.action === 'remove') ledger = recordRemoved(ledger, change.id);
  store.save(ledger);
  await store.flush();
  return { plan, outcomes: answered, unfinished, ...(store.writeError !== undefined ? { ledgerError: `${store.path} (${store.writeError})` } : {}) };
}
