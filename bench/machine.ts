/** What the numbers were measured on, so a reader can weigh them. */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';

export interface Machine {
  readonly nproc: number;
  readonly cpuModel: string;
  readonly node: string;
  readonly platform: string;
  readonly memoryMb: number;
  /** 1-, 5- and 15-minute load averages when the bench started: other work competing for the cores. */
  readonly loadAverage: readonly number[];
}

function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  } catch {
    return cpus()[0]?.model ?? 'unknown';
  }
}

export function describeMachine(): Machine {
  return {
    nproc: availableParallelism(),
    cpuModel: cpuModel(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    memoryMb: Math.round(totalmem() / (1024 * 1024)),
    loadAverage: loadavg().map((value) => Math.round(value * 100) / 100),
  };
}
