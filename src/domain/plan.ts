import type { ComponentId, DesiredComponent } from './component.js';

export type KeyChangeKind = 'added' | 'changed' | 'removed';

export interface KeyChange {
  readonly key: string;
  readonly change: KeyChangeKind;
  readonly before?: string;
  readonly after?: string;
}

/**
 * create: not in the ledger; update: metadata differs; unchanged: same hash;
 * remove: in the ledger as applied, gone from the desired set (warned, never pushed).
 */
export type ComponentAction = 'create' | 'update' | 'unchanged' | 'remove';

export interface ComponentChange {
  readonly id: ComponentId;
  readonly kind: string;
  readonly name: string;
  readonly action: ComponentAction;
  /** Per-key differences against the ledger, sorted by key; empty for unchanged. */
  readonly keys: readonly KeyChange[];
}

/** What to do to bring the sidecar from the ledger to the desired set. Pure data. */
export interface Plan {
  /** Components to push, with their complete metadata, in id order. */
  readonly push: readonly DesiredComponent[];
  /** Every component that is in either the desired set or the ledger, in id order. */
  readonly changes: readonly ComponentChange[];
}
