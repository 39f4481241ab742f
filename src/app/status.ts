import { compareCodeUnits, type ComponentId, type DesiredComponent } from '../domain/component.js';
import type { LedgerEntry } from '../domain/ledger.js';
import type { ComponentPushState } from '../push/push-request.js';
import type { SourceNamespaceStatus } from '../sources/source.js';
import { componentReadiness } from './readiness.js';

/** What a source reports for each of its namespaces: the sources' own type. */
export type { SourceNamespaceStatus };

/** Everything `/status` is built from, as the agent holds it at one moment. */
export interface StatusInput {
  readonly version: string;
  /** ms since epoch. */
  readonly now: number;
  readonly sidecar: { readonly address: string; readonly connected: boolean };
  /** Every source has delivered its first complete snapshot. */
  readonly sourcesLoaded: boolean;
  readonly desired: ReadonlyMap<ComponentId, DesiredComponent>;
  /** The pusher's view: what was pushed to the sidecar and how it ended. */
  readonly pushState: (id: ComponentId) => ComponentPushState | undefined;
  /** What a sidecar last accepted, persisted across restarts. */
  readonly ledger: Readonly<Record<ComponentId, LedgerEntry>>;
  readonly sources: readonly SourceNamespaceStatus[];
}

/**
 * pending: not yet pushed to the current sidecar connection (or a newer version waits, or the
 * sidecar is disconnected); pushing: a call or
 * its retry is under way; applied, rejected, failed: how the current version's push ended;
 * removed: its keys are gone from every source and Layotto, unable to unload it, keeps it.
 */
export type ComponentStatusState = ComponentPushState['state'] | 'removed';

export interface ReleaseRef {
  readonly namespace: string;
  readonly releaseKey: string;
}

export interface ComponentStatus {
  readonly id: ComponentId;
  readonly state: ComponentStatusState;
  /** The current sidecar connection runs the desired version. */
  readonly inSync: boolean;
  readonly desiredHash?: string;
  /** What a sidecar last accepted (the ledger); equal to desiredHash once applied. */
  readonly appliedHash?: string;
  /** ISO time of that acceptance. */
  readonly appliedAt?: string;
  /** The namespaces (or files) and releases the desired version came from; for a removed one, the last applied. */
  readonly releases: readonly ReleaseRef[];
  /** The sidecar's answer to the last failed call of the current version. */
  readonly error?: { readonly code: string; readonly message: string };
}

export interface SourceStatus {
  readonly sourceId: string;
  readonly namespace: string;
  readonly releaseKey?: string;
  /** ISO time of the last successful read. */
  readonly lastSuccessAt?: string;
  readonly failing: boolean;
  readonly origin: SourceNamespaceStatus['origin'];
  readonly error?: string;
}

/** The body of `GET /status`: what this pod's sidecar runs and where it came from. */
export interface AgentStatus {
  readonly version: string;
  readonly time: string;
  /** Sidecar connected, every source loaded, every desired component applied on this connection. */
  readonly inSync: boolean;
  readonly sidecar: { readonly address: string; readonly connected: boolean };
  readonly sourcesLoaded: boolean;
  /** Sorted by id. */
  readonly components: readonly ComponentStatus[];
  readonly sources: readonly SourceStatus[];
}

/** Pure: the status view of one moment. Secrets are masked by whoever serves it. */
export function buildStatus(input: StatusInput): AgentStatus {
  const components: ComponentStatus[] = [];
  for (const [id, component] of input.desired) components.push(desiredStatus(input, id, component));
  for (const [id, entry] of Object.entries(input.ledger)) {
    if (!input.desired.has(id) && entry.status === 'removed') components.push(removedStatus(id, entry));
  }
  components.sort((a, b) => compareCodeUnits(a.id, b.id));
  const inSync =
    input.sidecar.connected && input.sourcesLoaded && components.every((component) => component.state === 'removed' || component.inSync);
  return {
    version: input.version,
    time: new Date(input.now).toISOString(),
    inSync,
    sidecar: { address: input.sidecar.address, connected: input.sidecar.connected },
    sourcesLoaded: input.sourcesLoaded,
    components,
    sources: input.sources.map(sourceStatus),
  };
}

function desiredStatus(input: StatusInput, id: ComponentId, component: DesiredComponent): ComponentStatus {
  const { state, current, code, message } = componentReadiness(component.hash, input.pushState(id), input.sidecar.connected);
  const applied = input.ledger[id];
  return {
    id,
    state,
    inSync: current,
    desiredHash: component.hash,
    ...(applied ? { appliedHash: applied.hash, appliedAt: applied.appliedAt } : {}),
    releases: component.releaseKeys.map(releaseRef),
    ...(code !== undefined ? { error: { code, message: message ?? '' } } : {}),
  };
}

function removedStatus(id: ComponentId, entry: LedgerEntry): ComponentStatus {
  return {
    id,
    state: 'removed',
    inSync: false,
    appliedHash: entry.hash,
    appliedAt: entry.appliedAt,
    releases: entry.releaseKeys.map(releaseRef),
  };
}

/** `namespace@releaseKey` as the mapper records it; a file path may hold an `@`, a releaseKey does not. */
function releaseRef(text: string): ReleaseRef {
  const at = text.lastIndexOf('@');
  return at < 0 ? { namespace: text, releaseKey: '' } : { namespace: text.slice(0, at), releaseKey: text.slice(at + 1) };
}

function sourceStatus(source: SourceNamespaceStatus): SourceStatus {
  return {
    sourceId: source.sourceId,
    namespace: source.namespace,
    ...(source.releaseKey !== undefined ? { releaseKey: source.releaseKey } : {}),
    ...(source.lastSuccessAt !== undefined ? { lastSuccessAt: new Date(source.lastSuccessAt).toISOString() } : {}),
    failing: source.failing,
    origin: source.origin,
    ...(source.error !== undefined ? { error: source.error } : {}),
  };
}
