/**
 * The global bound on ApplyConfiguration calls in flight. Waiters are served first come, first
 * served, and each component waits with at most one call, so components take turns fairly.
 */
export class PushSlots {
  private free: number;
  private readonly waiters: Array<{ grant: (release: () => void) => void }> = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`concurrency must be a positive integer, got ${size}`);
    this.free = size;
  }

  /** A release function if a slot is free right now (then nobody is waiting), else undefined. */
  tryAcquire(): (() => void) | undefined {
    if (this.free === 0) return undefined;
    this.free -= 1;
    return this.releaser();
  }

  /** Resolves with a release function once a slot is free; rejects with the signal's reason if aborted first. */
  acquire(signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    const release = this.tryAcquire();
    if (release) return Promise.resolve(release);
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: (release: () => void) => {
          signal.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      const onAbort = (): void => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  get inUse(): number {
    return this.size - this.free;
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      // Hand the slot straight to the next waiter so that no newcomer can jump the queue.
      if (next) next.grant(this.releaser());
      else this.free += 1;
    };
  }
}
