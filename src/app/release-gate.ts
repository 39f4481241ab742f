import type { DesiredState } from '../domain/component.js';
import { MappingError } from '../domain/errors.js';
import type { NamespaceContent, SourceSnapshot } from '../domain/snapshot.js';
import { mapLayers } from '../mapper/map-layers.js';
import { parseNamespace } from '../mapper/parse-namespace.js';
import type { ParsedLayer } from '../mapper/parsed-layer.js';
import type { ComponentRule } from '../mapper/rules.js';

export interface RejectedRelease {
  readonly namespace: string;
  readonly releaseKey: string;
  readonly error: MappingError;
}

interface GoodRelease {
  readonly content: NamespaceContent;
  readonly layer: ParsedLayer;
}

/**
 * Keeps the last good release of every namespace and file. A new release replaces it only
 * when it parses and maps whole; one that does not is rejected and the last good stays in
 * use, so one bad namespace never blocks the others nor pushes garbage.
 */
export class ReleaseGate {
  /** Per source, in the order the source lists its namespaces. */
  private readonly good = new Map<string, Map<string, GoodRelease>>();
  /** Namespace key → identity of the release last rejected: a bad release is reported once, not on every later snapshot. */
  private readonly rejectedKeys = new Map<string, string>();
  private mapped: { readonly layers: readonly ParsedLayer[]; readonly desired: DesiredState } | undefined;

  constructor(
    private rules: readonly ComponentRule[],
    /** Source ids, lowest priority first. */
    private readonly sourceOrder: readonly string[],
    /** Told of every release taken as a namespace's last good one (a source caches only those). */
    private readonly onAccepted: (sourceId: string, release: NamespaceContent) => void = () => undefined,
  ) {}

  /** Takes a source's new snapshot; returns the releases it had to reject. */
  accept(snapshot: SourceSnapshot): RejectedRelease[] {
    const previous = this.good.get(snapshot.sourceId);
    const next = new Map<string, GoodRelease>();
    const rejected: RejectedRelease[] = [];
    for (const content of snapshot.namespaces) {
      const last = previous?.get(content.key);
      // The identity alone (releaseKey and content hash) tells a release seen before.
      const known = last?.content.identity === content.identity || this.rejectedKeys.get(content.key) === content.identity;
      if (known) {
        if (last) next.set(content.key, last);
        continue;
      }
      try {
        next.set(content.key, { content, layer: parseNamespace(content, this.rules, last?.layer) });
        this.rejectedKeys.delete(content.key);
        this.onAccepted(snapshot.sourceId, content);
      } catch (error) {
        if (!(error instanceof MappingError)) throw error;
        rejected.push({ namespace: content.name, releaseKey: content.releaseKey, error });
        this.rejectedKeys.set(content.key, content.identity);
        if (last) next.set(content.key, last);
      }
    }
    this.good.set(snapshot.sourceId, next);
    return rejected;
  }

  /**
   * Re-reads every last good release under new rules. All or nothing: if any release does
   * not map under the new rules, nothing changes and the problems are returned.
   */
  replaceRules(rules: readonly ComponentRule[]): RejectedRelease[] {
    const reparsed = new Map<string, Map<string, GoodRelease>>();
    const rejected: RejectedRelease[] = [];
    for (const [sourceId, releases] of this.good) {
      const next = new Map<string, GoodRelease>();
      for (const [key, { content, layer }] of releases) {
        try {
          next.set(key, { content, layer: parseNamespace(content, rules, layer) });
        } catch (error) {
          if (!(error instanceof MappingError)) throw error;
          rejected.push({ namespace: content.name, releaseKey: content.releaseKey, error });
        }
      }
      reparsed.set(sourceId, next);
    }
    if (rejected.length === 0) {
      this.rules = rules;
      for (const [sourceId, releases] of reparsed) this.good.set(sourceId, releases);
    }
    return rejected;
  }

  /** Whether every source has delivered at least one snapshot. */
  isComplete(): boolean {
    return this.sourceOrder.every((id) => this.good.has(id));
  }

  /** Mapped again only when a layer changed: resyncs and rejected releases reuse the last result. */
  desired(): DesiredState {
    const layers = this.sourceOrder.flatMap((id) => [...(this.good.get(id)?.values() ?? [])].map((release) => release.layer));
    const last = this.mapped;
    if (last !== undefined && last.layers.length === layers.length && last.layers.every((layer, index) => layer === layers[index])) {
      return last.desired;
    }
    const desired = mapLayers(layers, last?.desired);
    this.mapped = { layers, desired };
    return desired;
  }
}
