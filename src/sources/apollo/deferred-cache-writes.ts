import { errorMessage } from '../../domain/errors.js';
import type { AgentMetrics } from '../../observability/metrics.js';
import type { CachedNamespace, NamespaceCache } from './namespace-cache.js';
import type { NamespaceName } from './namespace-name.js';

/** Told how a write went: the error's text when it failed, undefined when it is on disk. */
export type CacheWritten = (error: string | undefined) => void;

/**
 * The local cache's writes, held back until `delayMs` after the first write scheduled since the
 * last flush (a timer, so never before the pushes of the turn that scheduled it have gone out).
 * Per namespace the latest content wins; `flush()` writes whatever is pending at once.
 */
export class DeferredCacheWrites {
  readonly #pending = new Map<string, { readonly name: NamespaceName; readonly content: CachedNamespace; readonly written: CacheWritten }>();
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly cache: NamespaceCache,
    private readonly delayMs: number,
    private readonly metrics: AgentMetrics,
  ) {}

  schedule(name: NamespaceName, content: CachedNamespace, written: CacheWritten): void {
    const superseded = this.#pending.get(name.remote);
    // The newer content is written instead; whoever waited for the older one hears of that write.
    const tell: CacheWritten = superseded ? (error) => (superseded.written(error), written(error)) : written;
    this.#pending.set(name.remote, { name, content, written: tell });
    if (this.#timer) return;
    this.#timer = setTimeout(() => void this.flush(), this.delayMs);
    // A write due now holds the process open (a one-shot `apply` waits for it); a delayed one does not.
    if (this.delayMs > 0) this.#timer.unref();
  }

  /** Writes what is pending now; resolves once it and every earlier write are done. Never rejects: each write reports to its `written`. */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const writes = [...this.#pending.values()];
    this.#pending.clear();
    this.#writing = this.#writing.then(async () => {
      for (const { name, content, written } of writes) {
        try {
          await this.cache.write(name, content);
          written(undefined);
        } catch (error) {
          this.metrics.stateWriteFailures.inc({ file: 'apollo_cache' });
          written(errorMessage(error));
        }
      }
    });
    return this.#writing;
  }
}
