import type { ComponentId, DesiredComponent } from '../domain/component.js';
import type { LedgerEntry, LedgerState } from '../domain/ledger.js';

/** One copy of the component table however many entries change: a copy per entry is quadratic. */
function withEntries(ledger: LedgerState, entries: readonly (readonly [ComponentId, LedgerEntry])[]): LedgerState {
  const components: Record<ComponentId, LedgerEntry> = { ...ledger.components };
  for (const [id, entry] of entries) components[id] = Object.freeze(entry);
  return Object.freeze({ version: 1, components: Object.freeze(components) });
}

function withEntry(ledger: LedgerState, id: ComponentId, entry: LedgerEntry): LedgerState {
  return withEntries(ledger, [[id, entry]]);
}

export interface AppliedComponent {
  readonly component: DesiredComponent;
  /** ISO time the sidecar accepted it. */
  readonly appliedAt: string;
}

/** The ledger after the sidecar accepted these components: only successes are ever recorded. */
export function recordAppliedAll(ledger: LedgerState, applied: readonly AppliedComponent[]): LedgerState {
  if (applied.length === 0) return ledger;
  return withEntries(
    ledger,
    applied.map(({ component, appliedAt }) => [
      component.id,
      {
        kind: component.kind,
        name: component.name,
        metadata: component.metadata,
        hash: component.hash,
        releaseKeys: component.releaseKeys,
        appliedAt,
        status: 'applied',
      },
    ]),
  );
}

export function recordApplied(ledger: LedgerState, component: DesiredComponent, appliedAt: string): LedgerState {
  return recordAppliedAll(ledger, [{ component, appliedAt }]);
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
