/**
 * The agent's memory at one moment: RSS from /proc (what the kernel charges the process) and,
 * from its own /metrics (prom-client's process metrics, which `run` registers), how much of
 * that is V8 heap, so a reader can tell live data from heap the process has grown and kept.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { NodeRuntime } from '../test/support/shipped-runtime.js';
import { megabytes, sampleProcess } from './proc-stats.js';

export interface MemorySample {
  readonly rssMb: number;
  readonly rssAnonMb: number;
  readonly rssFileMb: number;
  /** VmHWM: the peak since start or since the bench last reset it (resetPeakRss). */
  readonly peakRssMb: number;
  readonly heapUsedMb: number;
  readonly heapTotalMb: number;
  readonly externalMb: number;
}

function metric(text: string, name: string): number {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text);
  return match ? megabytes(Number(match[1])) : Number.NaN;
}

export async function sampleAgentMemory(pid: number, httpAddress: string): Promise<MemorySample> {
  const sample = sampleProcess(pid);
  const response = await fetch(`http://${httpAddress}/metrics`, { signal: AbortSignal.timeout(5_000) });
  const text = await response.text();
  return {
    rssMb: megabytes(sample.rssBytes),
    rssAnonMb: megabytes(sample.rssAnonBytes),
    rssFileMb: megabytes(sample.rssFileBytes),
    peakRssMb: megabytes(sample.peakRssBytes),
    heapUsedMb: metric(text, 'nodejs_heap_size_used_bytes'),
    heapTotalMb: metric(text, 'nodejs_heap_size_total_bytes'),
    externalMb: metric(text, 'nodejs_external_memory_bytes'),
  };
}

/**
 * RSS of a Node process that loads nothing and waits, under the same runtime settings: the
 * floor under any Node agent on this machine.
 */
export async function measureBareNodeRss(runtime: NodeRuntime, timeoutMs = 10_000): Promise<{ readonly rssMb: number; readonly rssAnonMb: number }> {
  const child = spawn(process.execPath, [...runtime.execArgv, '-e', "process.stdout.write('ready\\n'); setInterval(() => {}, 60_000);"], {
    env: { PATH: process.env.PATH, ...runtime.env },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const exited = once(child, 'exit');
  try {
    await once(child.stdout!, 'data', { signal: AbortSignal.timeout(timeoutMs) });
    const sample = sampleProcess(child.pid!);
    return { rssMb: megabytes(sample.rssBytes), rssAnonMb: megabytes(sample.rssAnonBytes) };
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}
