import { compareCodeUnits, type ComponentId, type DesiredComponent, type DesiredState } from '../domain/component.js';
import type { LedgerState } from '../domain/ledger.js';
import { isRemoved } from './plan-changes.js';

/** What `run` does with a release: no per-key differences, which only `diff` and `apply` print. */
export interface PushPlan {
  /** Desired components whose hash differs from the one last handed to the pusher, in id order. */
  readonly push: readonly DesiredComponent[];
  /** Components to be marked removed in the ledger (`isRemoved`), in id order; never pushed. */
  readonly removed: readonly ComponentId[];
}

/**
 * The long-running agent's plan. `handedOver` maps each component to the hash last handed to
 * the pusher since the sidecar (re)connected (empty after a reconnect or resync, so everything
 * is pushed again); the caller records `push` in it, and forgets an id when its push fails or
 * when it is marked removed, so that a component that comes back is pushed again.
 */
export function planPushes(desired: DesiredState, ledger: LedgerState, handedOver: ReadonlyMap<ComponentId, string>): PushPlan {
  const push: DesiredComponent[] = [];
  // The desired set is in id order (mapLayers), so the pushes are too.
  for (const component of desired.components.values()) {
    if (handedOver.get(component.id) !== component.hash) push.push(component);
  }
  const removed: ComponentId[] = [];
  const entries = ledger.components;
  for (const id in entries) {
    if (isRemoved(entries[id]!, desired.components.get(id))) removed.push(id);
  }
  removed.sort(compareCodeUnits);
  return Object.freeze({ push: Object.freeze(push), removed: Object.freeze(removed) });
}
