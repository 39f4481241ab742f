/**
 * A Source held in memory, for in-process tests of the Agent: `publish()` is a new release of
 * one properties namespace, handed to the watcher at once.
 */
import { freezeSnapshot, snapshotRevision, type SourceSnapshot } from '../../src/domain/snapshot.js';
import type { Source, SourceNamespaceStatus } from '../../src/sources/source.js';
import { properties } from '../fixtures/namespaces.js';

export class MemorySource implements Source {
  readonly id = 'memory';
  private snapshot: SourceSnapshot | undefined;
  private listener: ((snapshot: SourceSnapshot) => void) | undefined;
  private releases = 0;

  constructor(private readonly namespace = 'application') {}

  publish(items: Readonly<Record<string, string>>): void {
    this.releases += 1;
    const namespaces = [properties(this.namespace, items, `release-${this.releases}`)];
    this.snapshot = freezeSnapshot({ sourceId: this.id, revision: snapshotRevision(namespaces), namespaces, observedAt: Date.now() });
    this.listener?.(this.snapshot);
  }

  status(): readonly SourceNamespaceStatus[] {
    return [];
  }

  async load(): Promise<SourceSnapshot> {
    if (!this.snapshot) throw new Error('nothing published');
    return this.snapshot;
  }

  watch(listener: (snapshot: SourceSnapshot) => void, signal: AbortSignal): Promise<void> {
    this.listener = listener;
    if (this.snapshot) listener(this.snapshot);
    return new Promise((resolve) => {
      signal.addEventListener(
        'abort',
        () => {
          this.listener = undefined;
          resolve();
        },
        { once: true },
      );
    });
  }
}
