import type { Agent } from '../app/agent.js';
import type { Logger } from '../observability/logger.js';

/** How long the agent must have applied nothing before its garbage is collected. */
const QUIET_MS = 5_000;

/** A full, synchronous garbage collection. */
export type CollectGarbage = () => void;

/** The collector `node --expose-gc` puts on the global object (the image runs node so); undefined otherwise. */
export function exposedGc(): CollectGarbage | undefined {
  const gc: unknown = (globalThis as { gc?: unknown }).gc;
  return typeof gc === 'function' ? () => void gc() : undefined;
}

export interface CollectWhenQuietOptions {
  readonly agent: Pick<Agent, 'on' | 'off'>;
  readonly collect: CollectGarbage;
  readonly logger: Logger;
  readonly quietMs?: number;
}

/**
 * One full collection once the agent has applied nothing for `quietMs`, after it applied (or
 * was refused) something. V8 collects its old generation only when allocation reaches a limit,
 * and arms its own memory reducer only after such a collection; a release allocates a burst
 * (fetch, parse, map, encode) and then the agent idles, so whether that burst happened to cross
 * the limit decided whether its garbage was returned within seconds or kept until the next
 * release: 58 or 74 MB resident 30 s after a 500-component release (docs/benchmarks.md). A
 * library must not collect in its host's process: only `run` does this. Returns the stop function.
 */
export function collectWhenQuiet({ agent, collect, logger, quietMs = QUIET_MS }: CollectWhenQuietOptions): () => void {
  let timer: NodeJS.Timeout | undefined;
  const collectNow = (): void => {
    timer = undefined;
    const before = process.memoryUsage().heapUsed;
    const started = performance.now();
    collect();
    logger.debug('collected the garbage of the last release', {
      durationMs: Math.round(performance.now() - started),
      heapUsedMb: { before: toMb(before), after: toMb(process.memoryUsage().heapUsed) },
    });
  };
  // refresh() re-arms the pending timer: the 500 outcomes of one release cost no timer each.
  const onWork = (): void => {
    if (timer !== undefined) timer.refresh();
    else timer = setTimeout(collectNow, quietMs).unref();
  };
  agent.on('applied', onWork);
  agent.on('rejected', onWork);
  return () => {
    clearTimeout(timer);
    agent.off('applied', onWork);
    agent.off('rejected', onWork);
  };
}

const toMb = (bytes: number): number => Math.round(bytes / 1e5) / 10;
