import type { ComponentId } from './component.js';

/** What the sidecar was last *successfully* given for one component. */
export interface LedgerEntry {
  readonly kind: string;
  readonly name: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly hash: string;
  readonly releaseKeys: readonly string[];
  /** ISO time of the successful ApplyConfiguration. */
  readonly appliedAt: string;
  /** `removed`: every key of the component disappeared; Layotto cannot unload it, so it stays. */
  readonly status: 'applied' | 'removed';
  /**
   * Stored with secret values masked (`--cache-secrets=false`): `hash` is that of the real
   * metadata, so whether the component changed is still known; which secret changed is not.
   */
  readonly masked?: true;
}

export interface LedgerState {
  readonly version: 1;
  readonly components: Readonly<Record<ComponentId, LedgerEntry>>;
}

export const EMPTY_LEDGER: LedgerState = Object.freeze({ version: 1, components: Object.freeze({}) });
