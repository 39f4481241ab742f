/** One metadata value a namespace sets: `kind/name` gets `metadataKey = value`. */
export interface ParsedEntry {
  readonly kind: string;
  readonly name: string;
  readonly metadataKey: string;
  readonly value: string;
}

/**
 * One namespace (or file) turned into metadata entries. Kept per namespace so that a bad
 * release of one namespace can be rejected while the last good layer of it stays in use.
 */
export interface ParsedLayer {
  /** `NamespaceContent.key`: unique among all sources. */
  readonly namespaceKey: string;
  /** `NamespaceContent.name`: the namespace name or file path, for release keys and messages. */
  readonly namespace: string;
  readonly releaseKey: string;
  /** At most one entry per kind/name/metadataKey, sorted. */
  readonly entries: readonly ParsedEntry[];
  readonly warnings: readonly string[];
}
