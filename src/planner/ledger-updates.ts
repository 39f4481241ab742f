import type { ComponentId, DesiredComponent } from '../domain/component.js';
import type { LedgerEntry, LedgerState } from '../domain/ledger.js';

function withEntry(ledger: LedgerState, id: ComponentId, entry: LedgerEntry): LedgerState {
  return Object.freeze({ version: 1, components: Object.freeze({ ...ledger.components, [id]: Object.freeze(entry) }) });
}

/** The ledger after the sidecar accepted `component`: only a success is ever recorded. */
export function recordApplied(ledger: LedgerState, component: DesiredComponent, appliedAt: string): LedgerState {
  return withEntry(ledger, component.id, {
    kind: component.kind,
    name: component.name,
    metadata: component.metadata,
    hash: component.hash,
    releaseKeys: component.releaseKeys,
    appliedAt,
    status: 'applied',
  });
}

/**
 * The ledger after every key of `id` disappeared. The entry keeps what the sidecar still runs
 * (Layotto cannot unload it) so that a reappearance is diffed against the truth.
 */
export function recordRemoved(ledger: LedgerState, id: ComponentId): LedgerState {
  const entry = Object.hasOwn(ledger.components, id) ? ledger.components[id] : undefined;
  if (!entry || entry.status === 'removed') return ledger;
  return withEntry(ledger, id, { ...entry, status: 'removed' });
}
