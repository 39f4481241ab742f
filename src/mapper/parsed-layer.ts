import type { DesiredComponent } from '../domain/component.js';

/** One metadata value a namespace sets: `kind/name` gets `metadataKey = value`. */
export interface ParsedEntry {
  readonly kind: string;
  readonly name: string;
  readonly metadataKey: string;
  readonly value: string;
}

/** What reading a namespace found besides its metadata. */
export interface ReadOutcome {
  readonly warnings: readonly string[];
  /** Content that makes the whole release unusable. */
  readonly problems: readonly string[];
}

/**
 * One namespace (or file) turned into components. Kept per namespace so that a bad release of
 * one namespace can be rejected while the last good layer of it stays in use.
 */
export interface ParsedLayer {
  /** `NamespaceContent.key`: unique among all sources. */
  readonly namespaceKey: string;
  /** `NamespaceContent.name`: the namespace name or file path, for release keys and messages. */
  readonly namespace: string;
  readonly releaseKey: string;
  /**
   * Every component this namespace sets, in id order, frozen and hashed as this layer alone
   * would push it (release keys: this layer's). A component no other layer sets is used as is.
   */
  readonly components: readonly DesiredComponent[];
  readonly warnings: readonly string[];
}

/** How a layer names itself in a component's release keys. */
export function layerReleaseKey(layer: Pick<ParsedLayer, 'namespace' | 'releaseKey'>): string {
  return `${layer.namespace}@${layer.releaseKey}`;
}
