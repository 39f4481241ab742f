/** What Layotto's ApplyConfiguration carries: one component's complete configuration. */
export interface ComponentConfig {
  readonly kind: string;
  readonly name: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/** `kind/name`: the identity of a component everywhere in the agent (queues, ledger, metrics). */
export type ComponentId = string;

export function componentId(kind: string, name: string): ComponentId {
  return `${kind}/${name}`;
}

/** A component as the agent wants the sidecar to run it, with where it came from. */
export interface DesiredComponent extends ComponentConfig {
  readonly id: ComponentId;
  /** Stable hash of kind, name and metadata: equal hashes mean an identical push. */
  readonly hash: string;
  /** The releases (`namespace@releaseKey`, or a file's content hash) that contributed keys. */
  readonly releaseKeys: readonly string[];
}

/** The complete set of components the agent wants, keyed by id, frozen. */
export interface DesiredState {
  readonly components: ReadonlyMap<ComponentId, DesiredComponent>;
  /** Things the mapper skipped but an operator should see (ignored keys and the like). */
  readonly warnings: readonly string[];
}

/** UTF-16 code-unit order: how ids and metadata keys are sorted in every output, independent of locale. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
