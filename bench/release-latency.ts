/**
 * Figure 1: from `apollo.publish(...)` to the fake sidecar's receipt of the changed component,
 * through the agent binary and through the reference client, alternately (ABBA order, so
 * neither always goes first after a pause) and always with every long-poll held. Both fakes run
 * in this process, so both ends are read from its `performance.now()`: with a base of a few ms,
 * whole-millisecond timestamps would make one tick worth 15 % of the ratio.
 * Each sample is split at the client's `/configs` request, from the fakes' own timestamps:
 * notify = publish → /configs received (poll answer read, parsed, fetch sent);
 * apply = /configs answered → ApplyConfiguration received (parse, map, plan, push).
 */
import { summarize, type Summary } from './stats.js';
import { NAMESPACE, benchComponentId, type Client } from './namespace-fixtures.js';
import type { Sandbox } from './sandbox.js';

export interface LatencyOptions {
  /** Measured samples per client. */
  readonly samples: number;
  /** Samples per client run first and not counted (JIT, connection pools). */
  readonly warmup: number;
}

export interface LatencyResult {
  readonly agent: Summary;
  readonly reference: Summary;
  readonly stages: Readonly<Record<Client, { readonly notify: Summary; readonly apply: Summary }>>;
  /** agent p50 / reference p50. */
  readonly p50Ratio: number;
  /** agent p99 - reference p99, ms. */
  readonly p99OverheadMs: number;
  readonly agentSamplesMs: readonly number[];
  readonly referenceSamplesMs: readonly number[];
}

const SAMPLE_TIMEOUT_MS = 5_000;

interface Sample {
  readonly totalMs: number;
  readonly notifyMs: number;
  readonly applyMs: number;
}

/** One release of `client`'s namespace that changes only `seq`: ms until the sidecar got the push. */
async function sampleOnce(sandbox: Sandbox, client: Client, seq: number): Promise<Sample> {
  const { apollo, sidecar } = sandbox;
  await sandbox.waitForHeldPolls();
  const namespace = NAMESPACE[client];
  const id = benchComponentId(client);
  const current = apollo.release(namespace);
  if (!current) throw new Error(`no release of ${namespace}`);
  const expected = String(seq);
  const from = sidecar.calls.length;
  const requestsFrom = apollo.requests.length;
  const publishedAt = performance.now();
  apollo.publish(namespace, { ...current.configurations, [`state.${client}.seq`]: expected });
  await sidecar.waitFor((s) => s.calls.length > from && s.current(id)?.seq === expected, SAMPLE_TIMEOUT_MS);
  const call = sidecar.calls.slice(from).find((c) => c.id === id && c.metadata['seq'] === expected);
  const configs = apollo.requests.slice(requestsFrom).find((r) => r.kind === 'configs' && r.segments[3] === namespace);
  if (!call || configs?.answeredAtHr === undefined) throw new Error(`${id} seq ${expected} left no trace in the fakes`);
  return {
    totalMs: call.receivedAtHr - publishedAt,
    notifyMs: configs.receivedAtHr - publishedAt,
    applyMs: call.receivedAtHr - configs.answeredAtHr,
  };
}

export async function measureReleaseLatency(sandbox: Sandbox, options: LatencyOptions): Promise<LatencyResult> {
  const samples: Record<Client, Sample[]> = { agent: [], reference: [] };
  let seq = 1_000;
  const pairs = options.warmup + options.samples;
  for (let pair = 0; pair < pairs; pair += 1) {
    const order: Client[] = pair % 2 === 0 ? ['agent', 'reference'] : ['reference', 'agent'];
    for (const client of order) {
      seq += 1;
      const latency = await sampleOnce(sandbox, client, seq);
      if (pair >= options.warmup) samples[client].push(latency);
    }
  }
  const agent = summarize(samples.agent.map((sample) => sample.totalMs));
  const reference = summarize(samples.reference.map((sample) => sample.totalMs));
  const stages = (client: Client): { notify: Summary; apply: Summary } => ({
    notify: summarize(samples[client].map((sample) => sample.notifyMs)),
    apply: summarize(samples[client].map((sample) => sample.applyMs)),
  });
  return {
    agent,
    reference,
    stages: { agent: stages('agent'), reference: stages('reference') },
    p50Ratio: agent.p50 / reference.p50,
    p99OverheadMs: agent.p99 - reference.p99,
    agentSamplesMs: samples.agent.map((sample) => sample.totalMs),
    referenceSamplesMs: samples.reference.map((sample) => sample.totalMs),
  };
}
