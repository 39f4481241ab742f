/**
 * A diagnostic, not a figure: the agent binary's memory under process-level runtime settings
 * (Node's flags on the command line, glibc's and libuv's environment), each in a fresh sandbox:
 * RSS and RssAnon after start and a settling pause, the peak (VmHWM) during one 500-component
 * release and the time until all of it was applied, then RSS and RssAnon some seconds later.
 * With --scrapes N, then N scrapes of /metrics 5 s apart, as Prometheus would, and the RSS after
 * each: a scrape's garbage that outlives a scavenge waits for the next full collection.
 *   node --import tsx bench/footprint-flags.ts [--settle-ms 30000] [--after-ms 30000] [--rounds 1] [--scrapes 0] [--only NAME]...
 */
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { shippedRuntime, type NodeRuntime } from '../test/support/shipped-runtime.js';
import { sampleAgentMemory, type MemorySample } from './agent-memory.js';
import { megabytes, resetPeakRss, sampleProcess } from './proc-stats.js';
import { startSandbox } from './sandbox.js';
import { measureScaleRelease } from './scale-release.js';

const { values: args } = parseArgs({
  options: {
    'settle-ms': { type: 'string', default: '30000' },
    'after-ms': { type: 'string', default: '30000' },
    rounds: { type: 'string', default: '1' },
    scrapes: { type: 'string', default: '0' },
    only: { type: 'string', multiple: true },
  },
});
const settleMs = Number(args['settle-ms']);
const afterMs = Number(args['after-ms']);
const rounds = Number(args.rounds);
const scrapes = Number(args.scrapes);

const LOW_GC = ['--max-semi-space-size=1', '--single-threaded-gc', '--v8-pool-size=1'];
const LOW_ENV = { MALLOC_ARENA_MAX: '2', UV_THREADPOOL_SIZE: '1' };

const shipped = await shippedRuntime();
const variants: ReadonlyArray<readonly [string, NodeRuntime]> = [
  ['defaults', { execArgv: [], env: {} }],
  ['semi-space=1', { execArgv: ['--max-semi-space-size=1'], env: {} }],
  ['low-gc', { execArgv: LOW_GC, env: {} }],
  ['low-gc+env', { execArgv: LOW_GC, env: LOW_ENV }],
  ['low-gc+env+optimize-for-size', { execArgv: [...LOW_GC, '--optimize-for-size'], env: LOW_ENV }],
  ['low-gc+env+lite-mode', { execArgv: [...LOW_GC, '--lite-mode'], env: LOW_ENV }],
  ['shipped', shipped],
  // The image's settings less one: what each of the later ones is for (shipped-lite-mode is the
  // README's setting for a configuration of ~100,000 keys).
  ...['--lite-mode', '--heap-growing-percent=100', '--expose-gc'].map((flag): readonly [string, NodeRuntime] => [
    `shipped-${flag.replace(/^--|=.*$/g, '')}`,
    { execArgv: shipped.execArgv.filter((other) => other !== flag), env: shipped.env },
  ]),
  ['shipped-glibc-tunables', { execArgv: shipped.execArgv, env: Object.fromEntries(Object.entries(shipped.env).filter(([key]) => key !== 'GLIBC_TUNABLES')) }],
];

const show = (sample: MemorySample): string =>
  `${sample.rssMb.toFixed(1)} (anon ${sample.rssAnonMb.toFixed(1)}, heap ${sample.heapUsedMb.toFixed(1)}/${sample.heapTotalMb.toFixed(1)})`;

for (const [name, runtime] of variants.filter(([name]) => !args.only || args.only.includes(name))) {
  const sandbox = await startSandbox({ agentExecArgv: runtime.execArgv, agentEnv: runtime.env });
  try {
    const pid = sandbox.agent.child.pid!;
    const http = String(sandbox.agent.logs().find((line) => line.message === 'agent started')?.http);
    await sandbox.waitForHeldPolls(10_000);
    await delay(settleMs);
    const idle = await sampleAgentMemory(pid, http);
    resetPeakRss(pid);
    const releaseRounds = await measureScaleRelease(sandbox, rounds);
    const peak = await sampleAgentMemory(pid, http);
    await delay(afterMs);
    const after = await sampleAgentMemory(pid, http);
    console.log(
      `${name.padEnd(30)} idle ${show(idle)} | release ${releaseRounds.filter((round) => round.client === 'agent').map((round) => round.allAppliedMs).join(', ')} ms, peak ${peak.peakRssMb.toFixed(1)} | +${afterMs / 1000} s ${show(after)}`,
    );
    const scraped: number[] = [];
    for (let scrape = 0; scrape < scrapes; scrape += 1) {
      await delay(5_000);
      await (await fetch(`http://${http}/metrics`)).text();
      scraped.push(megabytes(sampleProcess(pid).rssBytes));
    }
    if (scrapes > 0) console.log(`${''.padEnd(30)} RSS after each scrape: ${scraped.map((mb) => mb.toFixed(1)).join(' ')}`);
  } finally {
    await sandbox.close();
  }
}
