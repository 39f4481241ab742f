/**
 * Waits `ms` or until `signal` aborts, whichever comes first. Never rejects: loops check
 * `signal.aborted` themselves. The timer is unref'd so a forgotten wait never holds the
 * process open, and it is cleared on abort so nothing lingers after shutdown.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    timer.unref();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
