import type { AgentConfig } from '../config/agent-config.js';
import type { DesiredState } from '../domain/component.js';
import { errorMessage, MappingError, SourceError } from '../domain/errors.js';
import type { LedgerState } from '../domain/ledger.js';
import type { KnownSecrets } from '../domain/masking.js';
import type { Plan } from '../domain/plan.js';
import { LedgerStore } from '../ledger/ledger-store.js';
import type { Logger } from '../observability/logger.js';
import type { AgentMetrics } from '../observability/metrics.js';
import { recordAppliedAll, recordRemoved, type AppliedComponent } from '../planner/ledger-updates.js';
import { planChanges } from '../planner/plan-changes.js';
import { Pusher, type PushOutcome } from '../push/pusher.js';
import { GrpcSidecarClient } from '../sidecar/grpc-sidecar-client.js';
import type { SidecarClient } from '../sidecar/sidecar-client.js';
import type { Source } from '../sources/source.js';
import { checkStateDir } from '../storage/state-dir.js';
import { createSources } from './create-sources.js';
import { ReleaseGate } from './release-gate.js';

export interface OneShotContext {
  readonly config: AgentConfig;
  readonly logger: Logger;
  readonly metrics: AgentMetrics;
  readonly sources?: readonly Source[];
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
  const gate = new ReleaseGate(
    context.config.components,
    sources.map((source) => source.id),
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
  return { desired: gate.desired(), problems };
}

/** loadDesired for the commands that act on the result: any problem stops them. */
export async function loadDesiredStrict(context: OneShotContext): Promise<DesiredState> {
  const { desired, problems } = await loadDesired(context);
  if (problems.length > 0) throw new MappingError('the current configuration cannot be used', 'all', problems);
  return desired;
}

export interface PlannedChange {
  readonly plan: Plan;
  readonly desired: DesiredState;
  readonly ledger: LedgerState;
}

/** `diff` and `apply` start the same way: desired set against the ledger. */
export async function planFromLedger(context: OneShotContext, options: { all?: boolean } = {}): Promise<PlannedChange> {
  const desired = await loadDesiredStrict(context);
  const ledger = await new LedgerStore(context.config.stateDir, context.logger).load();
  return { plan: planChanges(desired, ledger, options), desired, ledger };
}

export interface ApplyResult {
  readonly plan: Plan;
  readonly outcomes: readonly PushOutcome[];
  /** Components the sidecar did not accept or refuse before the timeout (abandoned, with the last error). */
  readonly unfinished: readonly PushOutcome[];
}

/**
 * `apply`: pushes the plan once through the same pusher `run` uses, waits up to `timeoutMs`,
 * and records in the ledger exactly what the sidecar accepted.
 */
export async function applyOnce(
  context: OneShotContext & { sidecarClient?: SidecarClient },
  options: { all?: boolean; timeoutMs: number },
): Promise<ApplyResult> {
  const { plan, desired, ledger: before } = await planFromLedger(context, options);
  context.knownSecrets?.replace([...desired.components.values(), ...Object.values(before.components)]);
  const store = new LedgerStore(context.config.stateDir, context.logger);
  let ledger = await store.load();
  const client =
    context.sidecarClient ?? new GrpcSidecarClient({ address: context.config.sidecar, logger: context.logger, metrics: context.metrics });
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
  ledger = recordAppliedAll(ledger, applied);
  for (const change of plan.changes) if (change.action === 'remove') ledger = recordRemoved(ledger, change.id);
  store.save(ledger);
  await store.flush();
  return {
    plan,
    outcomes: outcomes.filter((outcome) => outcome.result !== 'abandoned'),
    unfinished: outcomes.filter((outcome) => outcome.result === 'abandoned'),
  };
}
