/**
 * What the kernel says a process uses, read from /proc (Linux): the same numbers `ps` and
 * `top` show, taken from outside so that measuring costs the measured process nothing.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

export interface ProcessSample {
  /** Resident set size, bytes (VmRSS). */
  readonly rssBytes: number;
  /** The anonymous part of it (heap, stacks, malloc): what the process itself allocated. */
  readonly rssAnonBytes: number;
  /** The file-backed part (mostly the node binary's own pages, shared by every Node process). */
  readonly rssFileBytes: number;
  /** Peak resident set size (VmHWM) since start or since the last resetPeakRss(). */
  readonly peakRssBytes: number;
  /** User + system CPU time consumed so far, milliseconds. */
  readonly cpuMs: number;
  /** When the sample was taken, performance.now() milliseconds. */
  readonly at: number;
}

let ticksPerSecond: number | undefined;

/** USER_HZ; 100 on every mainstream Linux, asked for rather than assumed. */
export function clockTicksPerSecond(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

export function sampleProcess(pid: number): ProcessSample {
  const at = performance.now();
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const bytesOf = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  // The command name (field 2) may hold spaces and parentheses; fields are counted after its last ')'.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the name, field 3 (state) is index 0, so utime (14) and stime (15) are 11 and 12.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssBytes: bytesOf('VmRSS'), rssAnonBytes: bytesOf('RssAnon'), rssFileBytes: bytesOf('RssFile'), peakRssBytes: bytesOf('VmHWM'), cpuMs: (ticks * 1000) / clockTicksPerSecond(), at };
}

/** Starts VmHWM again from the current RSS (Linux `clear_refs` 5), to read the peak of one stretch of work. */
export function resetPeakRss(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** Share of one core used between two samples, in percent. */
export function cpuPercent(from: ProcessSample, to: ProcessSample): number {
  return ((to.cpuMs - from.cpuMs) / (to.at - from.at)) * 100;
}

export function megabytes(bytes: number): number {
  return bytes / (1024 * 1024);
}
