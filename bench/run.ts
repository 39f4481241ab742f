/**
 * `npm run bench`: every figure of docs/benchmarks.md in one run, on loopback, each measured
 * next to its reference. Prints the table (figure, measured, target, pass/miss) and writes
 * everything measured to bench/results.json. Every loop is bounded in count and time, and
 * every server and process it starts is stopped before it exits.
 *
 * The agent runs as it ships: the bundled binary under the container image's runtime settings
 * (Node's flags from its ENTRYPOINT, the process-level variables of its ENV: glibc's and libuv's; see
 * test/support/shipped-runtime.ts), and bare `node` and the 100,000-key mapping under the same.
 * BENCH_AGENT_RUNTIME=defaults runs all three with Node's defaults instead; BENCH_NODE_FLAGS
 * replaces the image's Node flags (e.g. `--max-semi-space-size=1 --lite-mode`) to weigh others.
 *
 * BENCH_LATENCY_SAMPLES (default 100), BENCH_IDLE_WINDOW_MS (default 30000) and
 * BENCH_LOAD_WINDOW_MS (default 20000) trade precision for time. BENCH_AGENT_CPU_PROFILE=<dir>
 * profiles the agent binary for the whole run (its memory figures then include the loader).
 * BENCH_AGENT_NODE_OPTIONS runs the agent (only it) with that NODE_OPTIONS as well, to weigh a
 * runtime setting against the same reference.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { measureBareNodeRss, sampleAgentMemory, type MemorySample } from './agent-memory.js';
import { measureOutage } from './apollo-outage.js';
import { measureApolloLoad, measureIdle } from './idle-load.js';
import { describeMachine } from './machine.js';
import { measureMappingScale } from './mapping-scale.js';
import { SCALE_COMPONENTS, SCALE_KEYS_PER_COMPONENT } from './namespace-fixtures.js';
import { megabytes, resetPeakRss, sampleProcess } from './proc-stats.js';
import { measureBurst } from './release-burst.js';
import { measureReleaseLatency } from './release-latency.js';
import { formatMarkdown, formatTable, writeResults, type Row } from './report.js';
import { NODE_DEFAULTS, describeRuntime, shippedRuntime } from '../test/support/shipped-runtime.js';
import { startSandbox } from './sandbox.js';
import { measureScaleRelease } from './scale-release.js';

const settings = z
  .object({
    BENCH_LATENCY_SAMPLES: z.coerce.number().int().min(10).max(1_000).default(100),
    BENCH_IDLE_WINDOW_MS: z.coerce.number().int().min(5_000).max(300_000).default(30_000),
    BENCH_LOAD_WINDOW_MS: z.coerce.number().int().min(5_000).max(300_000).default(20_000),
    BENCH_AGENT_CPU_PROFILE: z.string().min(1).optional(),
    BENCH_AGENT_NODE_OPTIONS: z.string().optional(),
    BENCH_AGENT_RUNTIME: z.enum(['image', 'defaults']).default('image'),
    BENCH_NODE_FLAGS: z.string().optional(),
  })
  .parse(process.env);

/**
 * `--only 1 --only 3a` runs just those sandbox figures (1, 2, 3a), to measure one change quickly;
 * the idle, memory, mapping and Apollo-load figures need the whole run and are skipped.
 */
const { values: cli } = parseArgs({ options: { only: { type: 'string', multiple: true } } });
const only = z.array(z.enum(['1', '2', '3a'])).optional().parse(cli.only);
const runs = (figure: '1' | '2' | '3a'): boolean => only === undefined || only.includes(figure);
const fullRun = only === undefined;

const RESULTS_PATH = fileURLToPath(new URL('./results.json', import.meta.url));
const LATENCY_WARMUP = 5;
const BURST = { releases: 1_000, durationMs: 1_000 };
const SCALE_ROUNDS = 3;
const LOAD_HOLD_MS = 5_000;
/**
 * Start-up leaves work behind: V8's memory reducer runs full GCs for about half a minute after
 * allocation stops, shrinking the heap. Idle means after that, as an agent is between releases.
 */
const IDLE_SETTLE_MS = 45_000;
/** How long after the 500-component rounds the agent's memory is read again, as it is between releases. */
const AFTER_SCALE_MS = 30_000;
const LITE_MODE = '--lite-mode';
const REFRESH_DEMO_MS = 10_000;
const OUTAGE = { clients: 200, outageMs: 10_000, afterMs: 20_000 };
/** Apollo's real hold and the agent's default safety refresh, for scaling the idle request rate. */
const APOLLO_HOLD_MS = 60_000;
const AGENT_REFRESH_MS = 300_000;

const progress = (text: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
};
const ms = (value: number, digits = 1): string => `${value.toFixed(digits)} ms`;
const mb = (value: number): string => `${value.toFixed(1)} MB`;

const started = Date.now();
const machine = describeMachine();
progress(`${machine.nproc} × ${machine.cpuModel}, node ${machine.node}, load average ${machine.loadAverage.join(' ')}`);
const chosenRuntime = settings.BENCH_AGENT_RUNTIME === 'defaults' ? NODE_DEFAULTS : await shippedRuntime();
const runtime =
  settings.BENCH_NODE_FLAGS === undefined ? chosenRuntime : { ...chosenRuntime, execArgv: settings.BENCH_NODE_FLAGS.split(/\s+/).filter(Boolean) };
progress(`runtime settings of the agent, bare node and the mapping: ${describeRuntime(runtime)}`);

const PROFILE_PRELOAD = fileURLToPath(new URL('./cpu-profile-preload.ts', import.meta.url));
const profileDir = settings.BENCH_AGENT_CPU_PROFILE ? resolve(settings.BENCH_AGENT_CPU_PROFILE) : undefined;
if (profileDir) await mkdir(profileDir, { recursive: true });
const agentNodeOptions = [
  ...(profileDir ? ['--import tsx', `--import ${PROFILE_PRELOAD}`] : []),
  ...(settings.BENCH_AGENT_NODE_OPTIONS ? [settings.BENCH_AGENT_NODE_OPTIONS] : []),
].join(' ');
const sandbox = await startSandbox({
  agentExecArgv: runtime.execArgv,
  agentEnv: {
    ...runtime.env,
    ...(agentNodeOptions ? { NODE_OPTIONS: agentNodeOptions } : {}),
    ...(profileDir ? { BENCH_AGENT_CPU_PROFILE: profileDir } : {}),
  },
});
let agentExit: number | NodeJS.Signals | undefined;
/** Rows by figure number, printed in that order whatever order they were measured in. */
const sections: Record<1 | 2 | 3 | 4 | 5, Row[]> = { 1: [], 2: [], 3: [], 4: [], 5: [] };
const figures: Record<string, unknown> = {};
try {
  const agentPid = sandbox.agent.child.pid!;
  const http = String(sandbox.agent.logs().find((line) => line.message === 'agent started')?.http);
  const rss = (sample: MemorySample): string =>
    `${mb(sample.rssMb)}, anon ${mb(sample.rssAnonMb)} (file ${mb(sample.rssFileMb)}; heap ${mb(sample.heapUsedMb)} used of ${mb(sample.heapTotalMb)}`;
  /** The agent's memory and the reference client's RSS, read at the same moment. */
  const sampleMemory = async (): Promise<MemorySample & { referenceRssMb: number }> => ({
    ...(await sampleAgentMemory(agentPid, http)),
    referenceRssMb: sandbox.reference ? megabytes(sampleProcess(sandbox.reference.pid).rssBytes) : Number.NaN,
  });
  await sandbox.waitForHeldPolls(10_000);
  type Memory = Awaited<ReturnType<typeof sampleMemory>>;
  let startMemory: { afterStart: Memory; settled: Memory; idleWindowMs: number } | undefined;
  if (fullRun) {
    const afterStart = await sampleMemory();

    progress(
      `figure 4: ${IDLE_SETTLE_MS / 1000} s to settle after start, then ${settings.BENCH_IDLE_WINDOW_MS / 1000} s idle, long-poll held for Apollo's ${APOLLO_HOLD_MS / 1000} s`,
    );
    await delay(IDLE_SETTLE_MS);
    const idle = await measureIdle(sandbox, settings.BENCH_IDLE_WINDOW_MS);
    const settled = await sampleMemory();
    figures['idle'] = idle;
    const idleSeconds = Math.round(idle.windowMs / 1000);
    sections[4].push({
      figure: `4 idle CPU over ${idleSeconds} s (from ${IDLE_SETTLE_MS / 1000} s after start)`,
      measured: `${idle.agentCpuPercent.toFixed(2)} % of a core (${ms(idle.agentCpuMs, 0)} CPU; reference ${idle.referenceCpuPercent.toFixed(2)} %)`,
      target: '< 0.5 %',
      pass: idle.agentCpuPercent < 0.5 && idle.pushesInWindow === 0,
    });
    startMemory = { afterStart, settled, idleWindowMs: idle.windowMs };
  }

  if (runs('1')) {
    progress(`figure 1: release-to-apply latency, ${settings.BENCH_LATENCY_SAMPLES} releases each, agent and reference alternating`);
    const latency = await measureReleaseLatency(sandbox, { samples: settings.BENCH_LATENCY_SAMPLES, warmup: LATENCY_WARMUP });
    figures['latency'] = latency;
    const { agent: a, reference: r } = latency;
    sections[1].push(
      {
        figure: '1 release→apply p50, agent / reference',
        measured: `${ms(a.p50)} / ${ms(r.p50)} = ${latency.p50Ratio.toFixed(2)}×`,
        target: '≤ 1.25× (aim 1.1×)',
        pass: latency.p50Ratio <= 1.25,
      },
      { figure: '1 release→apply p95, agent / reference', measured: `${ms(a.p95)} / ${ms(r.p95)}`, target: '—', pass: undefined },
      {
        figure: '1 where (p50): notify + apply, agent / reference',
        measured: `${ms(latency.stages.agent.notify.p50)} + ${ms(latency.stages.agent.apply.p50)} / ${ms(latency.stages.reference.notify.p50)} + ${ms(latency.stages.reference.apply.p50)}`,
        target: '—',
        pass: undefined,
      },
      {
        figure: '1 release→apply p99 overhead',
        measured: `${ms(a.p99)} − ${ms(r.p99)} = ${ms(latency.p99OverheadMs)}`,
        target: '< 5 ms',
        pass: latency.p99OverheadMs < 5,
      },
    );
  }

  if (runs('2')) {
    progress(`figure 2: burst of ${BURST.releases} releases in ~${BURST.durationMs} ms, agent then reference`);
    const burstAgent = await measureBurst(sandbox, 'agent', BURST);
    const burstReference = await measureBurst(sandbox, 'reference', BURST);
    figures['burst'] = { agent: burstAgent, reference: burstReference };
    sections[2].push(
      {
        figure: '2 burst: final state, version order',
        measured: `${burstAgent.finalStateCorrect ? 'final state correct' : 'final state WRONG'}, versions ${burstAgent.onlyIncreasing ? 'only increased' : 'went BACKWARDS'}`,
        target: 'final state correct',
        pass: burstAgent.finalStateCorrect && burstAgent.onlyIncreasing,
      },
      {
        figure: '2 burst: pushes of the component',
        measured: `${burstAgent.pushes} for ${burstAgent.releases} releases in ${burstAgent.spanMs} ms (reference ${burstReference.pushes})`,
        target: '≤ 20',
        pass: burstAgent.pushes <= 20,
      },
      {
        figure: '2 burst: last release → final version applied',
        measured: `${ms(burstAgent.finalAppliedAfterMs, 0)} (reference ${ms(burstReference.finalAppliedAfterMs, 0)})`,
        target: '—',
        pass: undefined,
      },
    );
  }

  if (runs('3a')) {
    resetPeakRss(agentPid);
    progress(`figure 3a: ${SCALE_COMPONENTS * SCALE_KEYS_PER_COMPONENT} keys over ${SCALE_COMPONENTS} components in one release, ${SCALE_ROUNDS} rounds each`);
    const scale = await measureScaleRelease(sandbox, SCALE_ROUNDS);
    figures['scale'] = scale;
    const worst = (client: string): number => Math.max(...scale.filter((round) => round.client === client).map((round) => round.allAppliedMs));
    const list = (client: string): string => scale.filter((round) => round.client === client).map((round) => round.allAppliedMs).join(', ');
    const firstPushes = (client: string): string => scale.filter((round) => round.client === client).map((round) => round.firstPushMs).join(', ');
    sections[3].push(
      {
        figure: `3 one release, ${SCALE_COMPONENTS} components: all applied`,
        measured: `worst ${ms(worst('agent'), 0)} (rounds ${list('agent')}; reference ${list('reference')})`,
        target: '< 1000 ms',
        pass: worst('agent') < 1_000,
      },
      {
        figure: '3 of which until the first push (fetch, map, plan)',
        measured: `${firstPushes('agent')} ms (reference ${firstPushes('reference')} ms)`,
        target: '—',
        pass: undefined,
      },
    );
  }
  if (startMemory) {
    const { afterStart, settled, idleWindowMs } = startMemory;
    const afterScale = await sampleMemory();
    const scaleEndedAt = Date.now();

    progress(`figure 5a: ${settings.BENCH_LOAD_WINDOW_MS / 1000} s idle after the scale run, long-poll hold ${LOAD_HOLD_MS / 1000} s`);
    const load = await measureApolloLoad(sandbox, { windowMs: settings.BENCH_LOAD_WINDOW_MS, holdMs: LOAD_HOLD_MS, refreshIntervalMs: REFRESH_DEMO_MS });
    figures['apolloLoad'] = load;
    await delay(Math.max(0, scaleEndedAt + AFTER_SCALE_MS - Date.now()));
    const afterScaleSteady = await sampleMemory();
    const bareNode = await measureBareNodeRss(runtime);
    figures['memory'] = { runtime, afterStart, settled, afterScale, afterScaleSteady, bareNode };
    sections[4].unshift(
      {
        figure: `4 RSS and RssAnon after start, then ${Math.round((IDLE_SETTLE_MS + idleWindowMs) / 1000)} s idle`,
        measured: `${rss(settled)}; at start ${mb(afterStart.rssMb)}); bare node ${mb(bareNode.rssMb)}, anon ${mb(bareNode.rssAnonMb)}; reference ${mb(settled.referenceRssMb)}`,
        target: '≤ 60 MB, anon ≤ 20 MB',
        pass: settled.rssMb <= 60 && settled.rssAnonMb <= 20,
      },
      {
        figure: '4 peak RSS (VmHWM) during the 500-component rounds',
        measured: `${mb(afterScale.peakRssMb)} (right after them ${mb(afterScale.rssMb)}, anon ${mb(afterScale.rssAnonMb)}; reference ${mb(afterScale.referenceRssMb)})`,
        target: '—',
        pass: undefined,
      },
      {
        figure: `4 RSS and RssAnon ${AFTER_SCALE_MS / 1000} s after the 500-component rounds`,
        measured: `${rss(afterScaleSteady)}); reference ${mb(afterScaleSteady.referenceRssMb)}`,
        target: '≤ 60 MB, anon ≤ 25 MB',
        pass: afterScaleSteady.rssMb <= 60 && afterScaleSteady.rssAnonMb <= 25,
      },
    );
    const loadSeconds = Math.round(load.windowMs / 1000);
    const perMinute = ((load.agentPolls + load.agentFetches) * 60_000) / load.windowMs;
    const atApolloHold = 60_000 / APOLLO_HOLD_MS + 60_000 / AGENT_REFRESH_MS;
    sections[5].push(
      {
        figure: `5 idle agent: Apollo requests (hold ${LOAD_HOLD_MS / 1000} s)`,
        measured: `${load.agentPolls} polls + ${load.agentFetches} fetches in ${loadSeconds} s = ${perMinute.toFixed(1)}/min; at Apollo's 60 s hold + the 5 min refresh: ${atApolloHold.toFixed(1)}/min`,
        target: `≈ 1 poll per hold (${load.expectedPolls}) + refresh`,
        pass: Math.abs(load.agentPolls - load.expectedPolls) <= 1 && load.agentFetches === 0 && load.pushesInWindow === 0,
      },
      {
        figure: '5 safety refresh (ApolloSource, in-process)',
        measured: `${load.refreshSource.fetches} /configs in ${loadSeconds} s at a ${load.refreshSource.refreshIntervalMs / 1000} s interval (${load.refreshSource.polls} polls)`,
        target: `1 fetch per namespace per interval (${load.refreshSource.expectedFetches})`,
        pass: Math.abs(load.refreshSource.fetches - load.refreshSource.expectedFetches) <= 1,
      },
    );
  }
} finally {
  progress('stopping the agent (SIGTERM) and the reference client');
  agentExit = await sandbox.close();
}
sections[4].push({ figure: '4 agent exit on SIGTERM after the run', measured: String(agentExit), target: '0', pass: agentExit === 0 });

if (fullRun) {
  progress(`figure 3b: 100,000 keys through what run does per release (parse, map, plan), in a child process (${describeRuntime(runtime)})`);
  const mapping = await measureMappingScale(runtime);
  /** The README's setting for very large configurations: the same without --lite-mode, which runs JavaScript interpreted. */
  const largeRuntime = { ...runtime, execArgv: runtime.execArgv.filter((flag) => flag !== LITE_MODE) };
  const large = largeRuntime.execArgv.length === runtime.execArgv.length ? undefined : await measureMappingScale(largeRuntime);
  figures['mapping'] = { ...mapping, withoutLiteMode: large };
  const keys = mapping.keys.toLocaleString('en');
  sections[3].push(
    {
      figure: `3 ${keys} keys: parse + map + plan`,
      measured: `median ${ms(mapping.coldMedianMs, 0)} (CPU ${ms(mapping.coldMedianCpuMs, 0)}; first ${ms(mapping.coldFirstMs, 0)}; parse ${ms(mapping.stageMedianMs.parse, 0)}, map ${ms(mapping.stageMedianMs.map, 0)}, plan ${ms(mapping.stageMedianMs.plan, 0)}; reference mapping ${ms(mapping.referenceColdMedianMs, 0)})`,
      // The median of the warm runs: the first run also pays for compiling the code, once per process.
      target: '< 300 ms',
      pass: mapping.coldMedianMs < 300,
    },
    ...(large
      ? [
          {
            figure: `3 ${keys} keys without ${LITE_MODE} (large configurations)`,
            measured: `median ${ms(large.coldMedianMs, 0)} (first ${ms(large.coldFirstMs, 0)}; one changed ${ms(large.updateMedianMs, 0)}; reference mapping ${ms(large.referenceColdMedianMs, 0)})`,
            // Issue 16 sets no target here: the row documents the setting for very large configurations.
            target: '—',
            pass: undefined,
          },
        ]
      : []),
    {
      figure: `3 ${keys} keys, one changed: parse + map + plan`,
      measured: `median ${ms(mapping.updateMedianMs, 0)} (reference mapping ${ms(mapping.referenceUpdateMedianMs, 0)}); added to release→apply at that size`,
      target: '—',
      pass: undefined,
    },
    {
      figure: `3 ${keys} keys: heap`,
      measured: `${mb(mapping.runAllocatedMb)} allocated per run, ${mb(mapping.retainedHeapMb)} retained (input ${mb(mapping.inputHeapMb)})`,
      target: '—',
      pass: undefined,
    },
  );

  progress(`figure 5b: ${OUTAGE.clients} ApolloSource instances, Apollo answers 500 for ${OUTAGE.outageMs / 1000} s; then ${OUTAGE.clients} reference clients`);
  const outageSources = await measureOutage('apollo-source', OUTAGE);
  const outageReference = await measureOutage('reference', OUTAGE);
  figures['outage'] = { apolloSource: outageSources, reference: outageReference };
  // A synchronized client puts every retry in one window (the reference shows it: 100 %); equal
  // jitter spreads the first retry wave over at least 500 ms, about 20 % per 100 ms on average.
  const stampedeLimit = Math.floor(OUTAGE.clients * 0.5);
  const spread = (buckets: readonly number[]): string => buckets.join(' ');
  sections[5].push(
    {
      figure: `5 ${OUTAGE.clients} clients, Apollo 500 for ${OUTAGE.outageMs / 1000} s: during`,
      measured: `${outageSources.duringPerSecond.toFixed(0)} req/s, max ${outageSources.duringMax100ms} in 100 ms (reference ${outageReference.duringPerSecond.toFixed(0)} req/s, max ${outageReference.duringMax100ms})`,
      target: `no stampede: max in 100 ms ≤ ${stampedeLimit} (half the clients)`,
      pass: outageSources.duringMax100ms <= stampedeLimit,
    },
    {
      figure: `5 ${OUTAGE.clients} clients: after`,
      measured: `all ${outageSources.recovered} had the new release ${(outageSources.allRecoveredMs / 1000).toFixed(1)} s after; then ${(outageSources.afterBySecond.slice(-5).reduce((sum, n) => sum + n, 0) / 5).toFixed(1)} req/s (reference ${(outageReference.allRecoveredMs / 1000).toFixed(1)} s)`,
      target: 'every client recovers',
      pass: outageSources.recovered === OUTAGE.clients,
    },
    {
      figure: `5 ${OUTAGE.clients} clients: requests per second of the outage`,
      measured: `${spread(outageSources.duringBySecond)} (reference ${spread(outageReference.duringBySecond)})`,
      target: '—',
      pass: undefined,
    },
  );
}

const rows = [...sections[1], ...sections[2], ...sections[3], ...sections[4], ...sections[5]];
const finished = Date.now();
const results = {
  version: 1,
  startedAt: new Date(started).toISOString(),
  durationMs: finished - started,
  machine: { ...machine, loadAverageAtEnd: describeMachine().loadAverage },
  settings: { ...settings, only: only ?? 'all' },
  rows,
  /** The table as docs/benchmarks.md shows it. */
  markdown: formatMarkdown(rows),
  figures,
};
await writeResults(RESULTS_PATH, results);
process.stdout.write(`\n${formatTable(rows)}\n\nmachine: ${machine.nproc} × ${machine.cpuModel}, node ${machine.node}; load average ${machine.loadAverage.join(' ')} at start, ${results.machine.loadAverageAtEnd.join(' ')} at end; ${((finished - started) / 1000).toFixed(0)} s\nresults: ${RESULTS_PATH}\n`);
