export interface BackoffOptions {
  /** Ceiling of the first delay. */
  readonly initialMs: number;
  /** No delay ever exceeds this. */
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({ initialMs: 1000, maxMs: 120_000 });

/**
 * Delay before retry number `attempt` (0 for the first retry): the ceiling doubles from
 * `initialMs` up to `maxMs`, and "equal jitter" picks a delay in [ceiling/2, ceiling] so that
 * many agents restarted together spread out, yet no delay collapses to zero and spins.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), 32);
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** exponent);
  const half = ceiling / 2;
  return Math.round(half + random() * half);
}

/** Counts consecutive failures of one loop; a success starts the doubling over. */
export class BackoffStreak {
  #attempt = 0;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {}

  /** The number of failures in the current streak. */
  get failures(): number {
    return this.#attempt;
  }

  /** Records a failure and returns how long to wait before the next try. */
  fail(): number {
    const delay = backoffDelay(this.#attempt, this.options, this.random);
    this.#attempt += 1;
    return delay;
  }

  succeed(): void {
    this.#attempt = 0;
  }
}
