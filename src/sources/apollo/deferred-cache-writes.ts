import type { CachedNamespace, NamespaceCache } from './namespace-cache.js';
import type { NamespaceName } from './namespace-name.js';

/**
 * The local cache's writes, held back `delayMs` after a release is accepted: formatting every
 * key of a large release as properties (plus two fsyncs) would otherwise run on the event loop
 * while that release's pushes are in flight (about 40 ms a round for 5,000 keys). Per
 * namespace the latest content wins; `flush()` writes whatever is pending at once.
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
