import { componentId, type ComponentId, type DesiredComponent } from '../domain/component.js';
import { hashSortedMetadata } from '../domain/hash.js';

/** One component's metadata as read, in arrival order: `values[i]` belongs to `keys[i]`, a later value for a key wins. */
export interface MetadataDraft {
  readonly kind: string;
  readonly name: string;
  readonly id: ComponentId;
  readonly keys: string[];
  readonly values: string[];
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Indices of the values that survive (the last one per key), in code-unit order of their keys;
 * undefined when the keys are already strictly increasing, as they usually are, so that the
 * common case allocates nothing.
 */
export function survivingIndices(keys: readonly string[]): number[] | undefined {
  let ordered = true;
  for (let index = 1; index < keys.length; index += 1) {
    if (keys[index - 1]! >= keys[index]!) {
      ordered = false;
      break;
    }
  }
  if (ordered) return undefined;
  // Stable by arrival, so the last of equal keys is the one that survives.
  const sorted = keys.map((_, index) => index).sort((a, b) => byCodeUnits(keys[a]!, keys[b]!) || a - b);
  const out: number[] = [];
  for (const index of sorted) {
    if (out.length > 0 && keys[out[out.length - 1]!] === keys[index]) out[out.length - 1] = index;
    else out.push(index);
  }
  return out;
}

/** Own properties in the given order; a key named `__proto__` is defined, not taken as the prototype. */
function freezeMetadata(keys: readonly string[], values: readonly string[]): Readonly<Record<string, string>> {
  const metadata: Record<string, string> = {};
  for (let index = 0; index < keys.length; index += 1) {
    const key = keys[index]!;
    if (key === '__proto__') Object.defineProperty(metadata, key, { value: values[index], enumerable: true, writable: true, configurable: true });
    else metadata[key] = values[index]!;
  }
  return Object.freeze(metadata);
}

function sameMetadata(metadata: Readonly<Record<string, string>>, keys: readonly string[], values: readonly string[]): boolean {
  let count = 0;
  for (const key in metadata) if (Object.hasOwn(metadata, key)) count += 1;
  if (count !== keys.length) return false;
  for (let index = 0; index < keys.length; index += 1) {
    const key = keys[index]!;
    if (!Object.hasOwn(metadata, key) || metadata[key] !== values[index]) return false;
  }
  return true;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a === b || (a.length === b.length && a.every((item, index) => item === b[index]));
}

/**
 * A frozen component from keys in code-unit order without duplicates. When `like` has the same
 * kind, name and metadata, its metadata and hash are reused (no re-hashing of what did not
 * change), and so is the whole object when the release keys are the same too.
 */
export function freezeComponent(
  draft: Omit<MetadataDraft, 'keys' | 'values'>,
  keys: readonly string[],
  values: readonly string[],
  releaseKeys: readonly string[],
  like?: DesiredComponent,
): DesiredComponent {
  if (like !== undefined && like.kind === draft.kind && like.name === draft.name && sameMetadata(like.metadata, keys, values)) {
    if (sameList(like.releaseKeys, releaseKeys)) return like;
    return Object.freeze({ kind: like.kind, name: like.name, metadata: like.metadata, id: like.id, hash: like.hash, releaseKeys });
  }
  return Object.freeze({
    kind: draft.kind,
    name: draft.name,
    metadata: freezeMetadata(keys, values),
    id: draft.id,
    hash: hashSortedMetadata(draft.kind, draft.name, keys, values),
    releaseKeys,
  });
}

/** A draft's keys and values reduced to the survivors, in key order. */
export function settledMetadata(draft: MetadataDraft): { keys: readonly string[]; values: readonly string[] } {
  const order = survivingIndices(draft.keys);
  if (order === undefined) return draft;
  return { keys: order.map((index) => draft.keys[index]!), values: order.map((index) => draft.values[index]!) };
}

/** The metadata one namespace sets, grouped per component while it is read. */
export class ComponentGroups {
  private readonly byId = new Map<ComponentId, MetadataDraft>();

  /** The draft of kind/name, created on first use. */
  draft(kind: string, name: string): MetadataDraft {
    const id = componentId(kind, name);
    let draft = this.byId.get(id);
    if (draft === undefined) {
      draft = { kind, name, id, keys: [], values: [] };
      this.byId.set(id, draft);
    }
    return draft;
  }

  find(kind: string, name: string): MetadataDraft | undefined {
    return this.byId.get(componentId(kind, name));
  }

  add(kind: string, name: string, key: string, value: string): void {
    const draft = this.draft(kind, name);
    draft.keys.push(key);
    draft.values.push(value);
  }

  drafts(): IterableIterator<MetadataDraft> {
    return this.byId.values();
  }

  /**
   * Frozen components in id order, each carrying `releaseKeys`. `previous` (in id order too:
   * the last layer of the same namespace) lends its components wherever nothing changed.
   */
  freeze(releaseKeys: readonly string[], previous: readonly DesiredComponent[] = []): DesiredComponent[] {
    const drafts = [...this.byId.values()].sort((a, b) => byCodeUnits(a.id, b.id));
    const out: DesiredComponent[] = [];
    let cursor = 0;
    for (const draft of drafts) {
      while (cursor < previous.length && previous[cursor]!.id < draft.id) cursor += 1;
      const like = previous[cursor]?.id === draft.id ? previous[cursor] : undefined;
      const { keys, values } = settledMetadata(draft);
      out.push(freezeComponent(draft, keys, values, releaseKeys, like));
    }
    return out;
  }
}
