/**
 * Turns bursts of filesystem events into one wake-up: fires `debounceMs` after the last event,
 * but never later than `maxWaitMs` after the first, so a file rewritten continuously is still
 * picked up. Timers are unref'd: a pending wake-up never keeps the process alive.
 */
export class ChangeTrigger {
  private timer: NodeJS.Timeout | undefined;
  private firstEventAt: number | undefined;
  private pending = false;
  private waiter: (() => void) | undefined;

  constructor(
    private readonly debounceMs: number,
    private readonly maxWaitMs: number,
  ) {}

  /** An event happened; the waiter wakes once things are quiet. */
  poke(): void {
    const now = Date.now();
    this.firstEventAt ??= now;
    clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(this.debounceMs, this.firstEventAt + this.maxWaitMs - now));
    this.timer = setTimeout(() => this.fire(), wait);
    this.timer.unref();
  }

  /** Wake the waiter now (or the next one, if nobody is waiting). */
  fire(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.firstEventAt = undefined;
    const waiter = this.waiter;
    if (waiter) waiter();
    else this.pending = true;
  }

  /** Resolves on the next fire, after `timeoutMs`, or when `signal` aborts, whichever comes first. */
  wait(timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (this.pending || signal.aborted) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timeout);
        signal.removeEventListener('abort', done);
        this.waiter = undefined;
        resolve();
      };
      const timeout = setTimeout(done, timeoutMs);
      timeout.unref();
      signal.addEventListener('abort', done, { once: true });
      this.waiter = done;
    });
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.firstEventAt = undefined;
  }
}
