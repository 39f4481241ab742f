/**
 * A diagnostic, not a figure: the agent binary's RSS under process-level memory settings that
 * need no code change (V8's young generation size, glibc's malloc arenas), each in a fresh
 * sandbox: after start, right after one 500-component release, and after an idle pause.
 *   node --import tsx bench/footprint-flags.ts [--idle-ms 10000]
 */
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { sampleAgentMemory, type MemorySample } from './agent-memory.js';
import { startSandbox } from './sandbox.js';
import { measureScaleRelease } from './scale-release.js';

const { values: args } = parseArgs({ options: { 'idle-ms': { type: 'string', default: '10000' } } });
const idleMs = Number(args['idle-ms']);

const variants: ReadonlyArray<readonly [string, NodeJS.ProcessEnv]> = [
  ['defaults', {}],
  ['--max-semi-space-size=1', { NODE_OPTIONS: '--max-semi-space-size=1' }],
  ['MALLOC_ARENA_MAX=2', { MALLOC_ARENA_MAX: '2' }],
  ['both', { NODE_OPTIONS: '--max-semi-space-size=1', MALLOC_ARENA_MAX: '2' }],
];

const show = (sample: MemorySample): string =>
  `${sample.rssMb.toFixed(1)} MB (anon ${sample.rssAnonMb.toFixed(1)}, heap ${sample.heapUsedMb.toFixed(1)}/${sample.heapTotalMb.toFixed(1)})`;

for (const [name, env] of variants) {
  const sandbox = await startSandbox({ agentEnv: env });
  try {
    const pid = sandbox.agent.child.pid!;
    const http = String(sandbox.agent.logs().find((line) => line.message === 'agent started')?.http);
    await sandbox.waitForHeldPolls(10_000);
    const start = await sampleAgentMemory(pid, http);
    await measureScaleRelease(sandbox, 1);
    const afterScale = await sampleAgentMemory(pid, http);
    await delay(idleMs);
    const idle = await sampleAgentMemory(pid, http);
    console.log(`${name.padEnd(26)} start ${show(start)} | after scale ${show(afterScale)} | +${idleMs / 1000} s ${show(idle)}`);
  } finally {
    await sandbox.close();
  }
}
