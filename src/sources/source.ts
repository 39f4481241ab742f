import type { NamespaceContent, SourceSnapshot } from '../domain/snapshot.js';

/** One namespace (or file) as its source holds it now: what `/status` shows per source. */
export interface SourceNamespaceStatus {
  readonly sourceId: string;
  readonly namespace: string;
  readonly releaseKey?: string;
  /** When the source last got an answer for it (ms since epoch). */
  readonly lastSuccessAt?: number;
  /** The last attempt to read it failed; it is retried with backoff. */
  readonly failing: boolean;
  /** Why it is failing, or what else an operator should know (no release in Apollo, a cache not written). */
  readonly error?: string;
  readonly origin: 'apollo' | 'cache' | 'file' | 'none';
}

/**
 * A place configuration comes from (Apollo, files). Sources hand out raw namespace
 * content; parsing and mapping happen downstream, in pure code.
 */
export interface Source {
  readonly id: string;
  /** One shot: the current content (falling back to the local cache where there is one). */
  load(signal?: AbortSignal): Promise<SourceSnapshot>;
  /**
   * Long-running: calls `listener` with the first complete snapshot and then after every
   * change. Never throws out: failures are logged, counted and retried with backoff.
   * Resolves once `signal` is aborted and everything it started has stopped.
   */
  watch(listener: (snapshot: SourceSnapshot) => void, signal: AbortSignal): Promise<void>;
  /** Per namespace (or file), what is held and whether reading it fails. */
  status(): readonly SourceNamespaceStatus[];
  /**
   * The release gate took this release of one of the source's namespaces: it parsed and
   * mapped cleanly. A source that keeps a local copy keeps only such releases; the promise
   * settles once it is written (it never rejects: a failed write shows in `status()`).
   */
  accepted?(release: NamespaceContent): Promise<void>;
}
