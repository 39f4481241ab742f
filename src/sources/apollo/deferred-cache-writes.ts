import type { CachedNamespace, NamespaceCache } from './namespace-cache.js';
import type { NamespaceName } from './namespace-name.js';

/**
 * The local cache's writes, held back until `delayMs` after the first write scheduled since the
 * last flush (a timer, so never before the pushes of the turn that scheduled it have gone out).
 * Per namespace the latest content wins; `flush()` writes whatever is pending at once.
 */
export class DeferredCacheWrites {
  readonly #pending = new Map<string, { readonly name: NamespaceName; readonly content: CachedNamespace }>();
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly cache: NamespaceCache,
    private readonly delayMs: number,
  ) {}

  schedule(name: NamespaceName, content: CachedNamespace): void {
    this.#pending.set(name.remote, { name, content });
    if (this.#timer) return;
    this.#timer = setTimeout(() => void this.flush(), this.delayMs);
    this.#timer.unref();
  }

  /** Writes what is pending now; resolves once it and every earlier write are done. Never rejects: the cache logs its failures. */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const writes = [...this.#pending.values()];
    this.#pending.clear();
    this.#writing = this.#writing.then(async () => {
      for (const { name, content } of writes) await this.cache.write(name, content);
    });
    return this.#writing;
  }
}
