import type { SourceSnapshot } from '../domain/snapshot.js';

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
}
