/** How a namespace's text is to be read. Apollo keeps the suffix for everything but properties. */
export type NamespaceFormat = 'properties' | 'json' | 'yaml' | 'xml' | 'txt';

import { hashText } from './hash.js';

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
  /** Apollo's releaseKey (empty when unknown: a namespace without a release, an old cache file), or a file's content hash. */
  readonly releaseKey: string;
  /**
   * What makes two releases the same: the releaseKey and a hash of the content (the hash
   * alone without a releaseKey). Two releases that share a releaseKey but not their content
   * (a cache file and an empty namespace both without a key) are different releases.
   */
  readonly identity: string;
  readonly origin: NamespaceOrigin;
  /** Why the source could not decode the text (a broken properties file): a release the gate rejects whole. */
  readonly undecodable?: string;
}

/**
 * A namespace's release, frozen, with its identity. `contentHash` is the hash of the text the
 * source received (an Apollo body, a file, a cache file): one native pass over one string, where
 * walking 100,000 keys to build a canonical form cost far more. Without it, the configurations'
 * JSON is hashed.
 */
export function namespaceRelease(fields: Omit<NamespaceContent, 'identity'>, contentHash: string = hashText(JSON.stringify(fields.configurations))): NamespaceContent {
  Object.freeze(fields.configurations);
  return Object.freeze({ ...fields, identity: fields.releaseKey === '' ? contentHash : `${fields.releaseKey}#${contentHash}` });
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
  return namespaces.map((ns) => `${ns.key}@${ns.identity}`).join(',');
}

export function freezeSnapshot(snapshot: SourceSnapshot): SourceSnapshot {
  for (const ns of snapshot.namespaces) {
    Object.freeze(ns.configurations);
    Object.freeze(ns);
  }
  Object.freeze(snapshot.namespaces);
  return Object.freeze(snapshot);
}
