/**
 * Figure 3b: 100,000 keys through what `run` does with a release, in-process — the release gate
 * (parseNamespace against the last good layer), mapLayers, planChanges and the per-component
 * check of what was already sent that the pusher's queues keep — timed and weighed, against the reference client's bare mapping (group keys
 * by component, compare each with what was sent) on the same content, runs interleaved. Runs in
 * its own `node --expose-gc` process so that the heap figures are the pipeline's alone and a
 * full GC can be forced between readings.
 *   cold:   a fresh gate, an empty ledger and nothing handed over (first start: every component new)
 *   update: one key of 100,000 changed, against a gate holding the previous release, a ledger and
 *           a hand-over holding the rest (a normal release)
 */
import { execFile } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { ReleaseGate } from '../src/app/release-gate.js';
import type { ComponentId, DesiredState } from '../src/domain/component.js';
import { EMPTY_LEDGER, type LedgerEntry, type LedgerState } from '../src/domain/ledger.js';
import { freezeSnapshot, namespaceRelease, snapshotRevision, type NamespaceContent, type SourceSnapshot } from '../src/domain/snapshot.js';
import { planChanges } from '../src/planner/plan-changes.js';
import type { NodeRuntime } from '../test/support/shipped-runtime.js';
import { changedComponents } from './reference-client.js';
import { summarize } from './stats.js';

export const MAPPING_COMPONENTS = 10_000;
export const MAPPING_KEYS_PER_COMPONENT = 10;
const RUNS = 7;

interface Stages {
  readonly parse: number;
  readonly map: number;
  readonly plan: number;
}

export interface MappingScaleResult {
  readonly keys: number;
  readonly components: number;
  /** The first cold run, cold JIT too, as right after the agent starts: wall ms. */
  readonly coldFirstMs: number;
  /** Median of the later cold runs: wall ms, and CPU ms of this process over the same runs. */
  readonly coldMedianMs: number;
  readonly coldMedianCpuMs: number;
  readonly stageMedianMs: Stages;
  readonly updateMedianMs: number;
  /** The reference client's mapping of the same content, cold (nothing sent yet), median wall ms. */
  readonly referenceColdMedianMs: number;
  readonly referenceUpdateMedianMs: number;
  /** Heap the 100,000-key input itself takes. */
  readonly inputHeapMb: number;
  /** Heap growth during one cold run, before any GC (what the run allocates, bounded by the peak). */
  readonly runAllocatedMb: number;
  /** Heap still held after a full GC by what one run produced (the gate and its layer, desired state, plan, hand-over). */
  readonly retainedHeapMb: number;
}

const SOURCE_ID = 'apollo';

/** A release as the Apollo source hands it over: one frozen snapshot of one properties namespace. */
function release(changedValue: string): SourceSnapshot {
  const configurations: Record<string, string> = {};
  for (let c = 0; c < MAPPING_COMPONENTS; c += 1) {
    for (let k = 0; k < MAPPING_KEYS_PER_COMPONENT; k += 1) {
      configurations[`state.component-${c}.key${k}`] = c === 0 && k === 0 ? changedValue : `value-${c}-${k}`;
    }
  }
  const namespaces: NamespaceContent[] = [
    namespaceRelease({ key: 'apollo:application', name: 'application', format: 'properties', configurations, releaseKey: changedValue, origin: 'apollo' }),
  ];
  return freezeSnapshot({ sourceId: SOURCE_ID, revision: snapshotRevision(namespaces), namespaces, observedAt: 0 });
}

function ledgerOf(desired: DesiredState): LedgerState {
  const components: Record<string, LedgerEntry> = {};
  for (const [id, component] of desired.components) {
    components[id] = {
      kind: component.kind,
      name: component.name,
      metadata: component.metadata,
      hash: component.hash,
      releaseKeys: component.releaseKeys,
      appliedAt: '2024-01-01T00:00:00.000Z',
      status: 'applied',
    };
  }
  return { version: 1, components };
}

/** What the agent holds between releases: the gate's last good layers, the ledger, the hand-over. */
interface AgentState {
  readonly gate: ReleaseGate;
  readonly ledger: LedgerState;
  readonly handedOver: Map<ComponentId, string>;
}

function freshAgent(): AgentState {
  return { gate: new ReleaseGate([], [SOURCE_ID]), ledger: EMPTY_LEDGER, handedOver: new Map() };
}

/** An agent that has applied `previous` and handed every component of it over. */
function settledAgent(previous: SourceSnapshot): AgentState {
  const agent = freshAgent();
  agent.gate.accept(previous);
  const desired = agent.gate.desired();
  for (const component of desired.components.values()) agent.handedOver.set(component.id, component.hash);
  return { ...agent, ledger: ledgerOf(desired) };
}

interface AgentRun {
  readonly ms: Stages;
  readonly cpuMs: number;
  readonly pushes: number;
  readonly retained: unknown;
}

/**
 * What the agent does with one snapshot, stage by stage: the gate takes it, maps the layers,
 * plans (Agent.reconcile, with planChanges) and keeps what was not already sent (the queues' check).
 */
function agentPipeline(snapshot: SourceSnapshot, agent: AgentState): AgentRun {
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const rejected = agent.gate.accept(snapshot);
  const t1 = performance.now();
  const desired = agent.gate.desired();
  const t2 = performance.now();
  const plan = planChanges(desired, agent.ledger, { all: true });
  const pushes = plan.push.filter((component) => agent.handedOver.get(component.id) !== component.hash);
  for (const component of pushes) agent.handedOver.set(component.id, component.hash);
  const t3 = performance.now();
  const used = process.cpuUsage(cpu);
  if (rejected.length > 0) throw new Error(`the release was rejected: ${rejected[0]!.error.message}`);
  return {
    ms: { parse: t1 - t0, map: t2 - t1, plan: t3 - t2 },
    cpuMs: (used.user + used.system) / 1000,
    pushes: pushes.length,
    retained: { agent, desired, plan },
  };
}

function referenceMapping(snapshot: SourceSnapshot, sent: Map<string, string>): { ms: number; pushes: number } {
  const t0 = performance.now();
  const pushes = changedComponents(snapshot.namespaces[0]!.configurations, sent).length;
  return { ms: performance.now() - t0, pushes };
}

const total = (ms: Stages): number => ms.parse + ms.map + ms.plan;
const mb = (bytes: number): number => bytes / (1024 * 1024);

function measure(gc: () => void): MappingScaleResult {
  gc();
  const base = process.memoryUsage().heapUsed;
  const cold = release('v1');
  const updated = release('v2');
  gc();
  const withInput = process.memoryUsage().heapUsed;

  const first = agentPipeline(cold, freshAgent());
  const allocated = process.memoryUsage().heapUsed - withInput;
  gc();
  const retained = process.memoryUsage().heapUsed - withInput;
  if (first.pushes !== MAPPING_COMPONENTS) throw new Error(`a first start must push every component, pushed ${first.pushes}`);

  // Only the timings are kept: holding every run's state would grow the old generation by a
  // whole agent per run and make each later run's collections slower than the agent's ever are.
  const coldRuns: Pick<AgentRun, 'ms' | 'cpuMs'>[] = [];
  const updateMs: number[] = [];
  const referenceCold: number[] = [];
  const referenceUpdate: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    const sent = new Map<string, string>();
    referenceCold.push(referenceMapping(cold, sent).ms);
    const referenceUpdated = referenceMapping(updated, sent);
    referenceUpdate.push(referenceUpdated.ms);
    const { ms, cpuMs } = agentPipeline(cold, freshAgent());
    coldRuns.push({ ms, cpuMs });
    const update = agentPipeline(updated, settledAgent(cold));
    updateMs.push(total(update.ms));
    if (update.pushes !== 1 || referenceUpdated.pushes !== 1) {
      throw new Error(`one changed key must push one component: agent ${update.pushes}, reference ${referenceUpdated.pushes}`);
    }
  }
  const median = (values: number[]): number => summarize(values).p50;
  return {
    keys: MAPPING_COMPONENTS * MAPPING_KEYS_PER_COMPONENT,
    components: MAPPING_COMPONENTS,
    coldFirstMs: total(first.ms),
    coldMedianMs: median(coldRuns.map((run) => total(run.ms))),
    coldMedianCpuMs: median(coldRuns.map((run) => run.cpuMs)),
    stageMedianMs: {
      parse: median(coldRuns.map((run) => run.ms.parse)),
      map: median(coldRuns.map((run) => run.ms.map)),
      plan: median(coldRuns.map((run) => run.ms.plan)),
    },
    updateMedianMs: median(updateMs),
    referenceColdMedianMs: median(referenceCold),
    referenceUpdateMedianMs: median(referenceUpdate),
    inputHeapMb: mb(withInput - base),
    runAllocatedMb: mb(allocated),
    retainedHeapMb: mb(retained),
  };
}

/** Runs the measurement in a fresh `node --expose-gc` process, under the runtime settings given, and returns what it printed. */
export async function measureMappingScale(runtime: NodeRuntime, timeoutMs = 180_000): Promise<MappingScaleResult> {
  const script = fileURLToPath(import.meta.url);
  const { stdout } = await promisify(execFile)(process.execPath, [...runtime.execArgv, '--expose-gc', '--import', 'tsx', script], {
    env: { ...process.env, ...runtime.env },
    timeout: timeoutMs,
    maxBuffer: 1024 * 1024,
  });
  return JSON.parse(stdout) as MappingScaleResult;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  process.stdout.write(`${JSON.stringify(measure(gc))}\n`);
}
