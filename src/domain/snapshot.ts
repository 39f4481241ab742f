/** How a namespace's text is to be read. Apollo keeps the suffix for everything but properties. */
export type NamespaceFormat = 'properties' | 'json' | 'yaml' | 'xml' | 'txt';

/** Where a namespace's content came from, as the apollo-java client calls it `sourceType`. */
export type NamespaceOrigin = 'apollo' | 'cache' | 'file';

/**
 * One namespace (or file) as its source last saw it, frozen. For properties the
 * configurations are the key/value pairs; for every other format Apollo delivers
 * `{content: "<text>"}` and files are read the same way.
 */
export interface NamespaceContent {
  /** Unique among all sources: `apollo:<namespace>` or `file:<path>`. */
  readonly key: string;
  /** The namespace name as configured (or the file path), for logs and rules. */
  readonly name: string;
  readonly format: NamespaceFormat;
  readonly configurations: Readonly<Record<string, string>>;
  /** Apollo's releaseKey, or the content hash of a file. */
  readonly releaseKey: string;
  readonly origin: NamespaceOrigin;
}

/** Everything one source currently holds, frozen; sources drop a snapshot equal to the last. */
export interface SourceSnapshot {
  readonly sourceId: string;
  /** Changes whenever any namespace's releaseKey changes. */
  readonly revision: string;
  /** Lowest priority first. */
  readonly namespaces: readonly NamespaceContent[];
  /** When the source noticed the change (ms since epoch): the start of release-to-apply latency. */
  readonly observedAt: number;
}

export function snapshotRevision(namespaces: readonly NamespaceContent[]): string {
  return namespaces.map((ns) => `${ns.key}@${ns.releaseKey}`).join(',');
}

export function freezeSnapshot(snapshot: SourceSnapshot): SourceSnapshot {
  for (const ns of snapshot.namespaces) {
    Object.freeze(ns.configurations);
    Object.freeze(ns);
  }
  Object.freeze(snapshot.namespaces);
  return Object.freeze(snapshot);
}
