import type { ComponentId, DesiredState } from '../domain/component.js';
import type { Readiness } from '../observability/health-server.js';
import type { ComponentPushState } from '../push/push-request.js';
import type { SourceNamespaceStatus } from '../sources/source.js';

export interface ReadinessInput {
  readonly connected: boolean;
  /** Every source delivered at least once. */
  readonly sourcesLoaded: boolean;
  readonly desired: DesiredState;
  readonly pushState: (id: ComponentId) => ComponentPushState | undefined;
  /** Why the ledger cannot be written, while it cannot. Shown, but not a reason to take the pod out. */
  readonly ledgerWriteError?: string | undefined;
  /** Every namespace or file of every source; those failing or with something to say are shown. */
  readonly sources?: readonly SourceNamespaceStatus[];
}

export interface ComponentReadiness {
  /** pending, pushing, applied, rejected or failed: for the desired version, on the current connection. */
  readonly state: ComponentPushState['state'];
  /** The current sidecar runs the desired version. */
  readonly current: boolean;
  readonly code?: string;
  readonly message?: string;
}

/** Where one desired component stands with the sidecar; a state settled on an earlier connection is pending again. */
export function componentReadiness(hash: string, pushed: ComponentPushState | undefined, connected: boolean): ComponentReadiness {
  if (pushed === undefined || pushed.hash !== hash) return { state: 'pending', current: false };
  if (pushed.thisConnection === false) return { state: 'pending', current: false };
  return {
    state: pushed.state,
    current: connected && pushed.state === 'applied',
    ...(pushed.code ? { code: pushed.code } : {}),
    ...(pushed.message ? { message: pushed.message } : {}),
  };
}

/**
 * `/readyz` (CONTRACT.md section 8): ready once the current sidecar has answered for every
 * desired component (applied, rejected, or given up); each component's state in the body.
 */
export function computeReadiness(input: ReadinessInput): Readiness {
  const components: Record<ComponentId, ComponentReadiness> = {};
  let settled = 0;
  for (const [id, component] of input.desired.components) {
    const readiness = componentReadiness(component.hash, input.pushState(id), input.connected);
    if (readiness.state === 'applied' || readiness.state === 'rejected' || readiness.state === 'failed') settled += 1;
    components[id] = readiness;
  }
  // A namespace Apollo has no release of, or one failing, is shown but keeps the pod ready: the
  // sidecar still runs the last good config (CONTRACT.md section 7).
  const sourceProblems = (input.sources ?? [])
    .filter((source) => source.failing || source.error !== undefined)
    .map(({ sourceId, namespace, failing, error }) => ({ source: sourceId, namespace, failing, ...(error !== undefined ? { error } : {}) }));
  return {
    ready: input.connected && input.sourcesLoaded && settled === input.desired.components.size,
    detail: {
      sidecar: input.connected ? 'connected' : 'disconnected',
      sourcesLoaded: input.sourcesLoaded,
      ...(input.ledgerWriteError !== undefined ? { ledger: { writable: false, error: input.ledgerWriteError } } : {}),
      ...(sourceProblems.length > 0 ? { sources: sourceProblems } : {}),
      components,
    },
  };
}

/** Desired components the connected sidecar runs (the components-in-sync gauge). */
export function countInSync(input: Pick<ReadinessInput, 'desired' | 'pushState' | 'connected'>): number {
  let inSync = 0;
  for (const [id, component] of input.desired.components) {
    if (componentReadiness(component.hash, input.pushState(id), input.connected).current) inSync += 1;
  }
  return inSync;
}
