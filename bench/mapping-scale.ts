/**
 * Figure 3b: 100,000 keys through the pure pipeline in-process — parseNamespace, mapLayers,
 * planChanges — timed and weighed, against the reference client's bare mapping (group keys by
 * component, compare each with what was sent) on the same content, runs interleaved. Runs in
 * its own `node --expose-gc` process so that the heap figures are the pipeline's alone and a
 * full GC can be forced between readings.
 *   cold:   against an empty ledger (first start: every component is created)
 *   update: one key of 100,000 changed, against a ledger holding the rest (a normal release)
 */
import { execFile } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { DesiredState } from '../src/domain/component.js';
import { EMPTY_LEDGER, type LedgerEntry, type LedgerState } from '../src/domain/ledger.js';
import type { NamespaceContent } from '../src/domain/snapshot.js';
import { mapLayers } from '../src/mapper/map-layers.js';
import { parseNamespace } from '../src/mapper/parse-namespace.js';
import { planChanges } from '../src/planner/plan-changes.js';
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
  readonly coldMaxMs: number;
  readonly stageMedianMs: Stages;
  readonly updateMedianMs: number;
  /** The reference client's mapping of the same content, cold (nothing sent yet), median wall ms. */
  readonly referenceColdMedianMs: number;
  readonly referenceUpdateMedianMs: number;
  /** Heap the 100,000-key input itself takes. */
  readonly inputHeapMb: number;
  /** Heap growth during one cold run, before any GC (what the run allocates, bounded by the peak). */
  readonly runAllocatedMb: number;
  /** Heap still held after a full GC by what one run produced (layer, desired state, plan). */
  readonly retainedHeapMb: number;
}

function content(changedValue: string): NamespaceContent {
  const configurations: Record<string, string> = {};
  for (let c = 0; c < MAPPING_COMPONENTS; c += 1) {
    for (let k = 0; k < MAPPING_KEYS_PER_COMPONENT; k += 1) {
      configurations[`state.component-${c}.key${k}`] = c === 0 && k === 0 ? changedValue : `value-${c}-${k}`;
    }
  }
  return { key: 'apollo:application', name: 'application', format: 'properties', configurations, releaseKey: changedValue, origin: 'apollo' };
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

interface AgentRun {
  readonly ms: Stages;
  readonly cpuMs: number;
  readonly desired: DesiredState;
  readonly pushes: number;
  readonly retained: unknown;
}

function agentPipeline(ns: NamespaceContent, ledger: LedgerState): AgentRun {
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const layer = parseNamespace(ns, []);
  const t1 = performance.now();
  const desired = mapLayers([layer]);
  const t2 = performance.now();
  const plan = planChanges(desired, ledger);
  const t3 = performance.now();
  const used = process.cpuUsage(cpu);
  return {
    ms: { parse: t1 - t0, map: t2 - t1, plan: t3 - t2 },
    cpuMs: (used.user + used.system) / 1000,
    desired,
    pushes: plan.push.length,
    retained: { layer, desired, plan },
  };
}

function referenceMapping(ns: NamespaceContent, sent: Map<string, string>): { ms: number; pushes: number } {
  const t0 = performance.now();
  const pushes = changedComponents(ns.configurations, sent).length;
  return { ms: performance.now() - t0, pushes };
}

const total = (ms: Stages): number => ms.parse + ms.map + ms.plan;
const mb = (bytes: number): number => bytes / (1024 * 1024);

function measure(gc: () => void): MappingScaleResult {
  gc();
  const base = process.memoryUsage().heapUsed;
  const cold = content('v1');
  const updated = content('v2');
  gc();
  const withInput = process.memoryUsage().heapUsed;

  const first = agentPipeline(cold, EMPTY_LEDGER);
  const allocated = process.memoryUsage().heapUsed - withInput;
  gc();
  const retained = process.memoryUsage().heapUsed - withInput;
  const ledger = ledgerOf(first.desired);

  const coldRuns: AgentRun[] = [];
  const updateMs: number[] = [];
  const referenceCold: number[] = [];
  const referenceUpdate: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    const sent = new Map<string, string>();
    referenceCold.push(referenceMapping(cold, sent).ms);
    const referenceUpdated = referenceMapping(updated, sent);
    referenceUpdate.push(referenceUpdated.ms);
    coldRuns.push(agentPipeline(cold, EMPTY_LEDGER));
    const update = agentPipeline(updated, ledger);
    updateMs.push(total(update.ms));
    if (update.pushes !== 1 || referenceUpdated.pushes !== 1) {
      throw new Error(`one changed key must push one component: agent ${update.pushes}, reference ${referenceUpdated.pushes}`);
    }
  }
  const coldTotals = summarize(coldRuns.map((run) => total(run.ms)));
  const median = (values: number[]): number => summarize(values).p50;
  return {
    keys: MAPPING_COMPONENTS * MAPPING_KEYS_PER_COMPONENT,
    components: MAPPING_COMPONENTS,
    coldFirstMs: total(first.ms),
    coldMedianMs: coldTotals.p50,
    coldMedianCpuMs: median(coldRuns.map((run) => run.cpuMs)),
    coldMaxMs: Math.max(total(first.ms), coldTotals.max),
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

/** Runs the measurement in a fresh `node --expose-gc` process and returns what it printed. */
export async function measureMappingScale(timeoutMs = 180_000): Promise<MappingScaleResult> {
  const script = fileURLToPath(import.meta.url);
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', script], {
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
