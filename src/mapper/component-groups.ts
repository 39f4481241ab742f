import { compareCodeUnits, componentId, type ComponentId, type DesiredComponent } from '../domain/component.js';
import { hashSortedMetadata } from '../domain/hash.js';
import { setOwn } from '../domain/own-record.js';
import type { ReadOutcome } from './parsed-layer.js';

/** One component's metadata as it is read: a later value for a key replaces the earlier one. */
export interface MetadataDraft {
  readonly kind: string;
  readonly name: string;
  readonly id: ComponentId;
  readonly metadata: Record<string, string>;
}

/** What reading one namespace gave: one draft per component id, and what it found besides. */
export interface ReadDrafts extends ReadOutcome {
  readonly drafts: MetadataDraft[];
}

function inCodeUnitOrder(keys: readonly string[]): boolean {
  for (let index = 1; index < keys.length; index += 1) if (keys[index - 1]! >= keys[index]!) return false;
  return true;
}

/** Whether `before` holds exactly `keys` (code-unit order) with `values`: compared in the same order, no keyed loads. */
function sameMetadata(before: Readonly<Record<string, string>>, keys: readonly string[], values: readonly string[]): boolean {
  const beforeKeys = Object.keys(before);
  if (beforeKeys.length !== keys.length) return false;
  const beforeValues = Object.values(before);
  for (let index = 0; index < keys.length; index += 1) {
    if (beforeKeys[index] !== keys[index] || beforeValues[index] !== values[index]) return false;
  }
  return true;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a === b || (a.length === b.length && a.every((item, index) => item === b[index]));
}

interface FreezeOptions {
  readonly releaseKeys: readonly string[];
}

/**
 * A frozen component whose metadata keys are in code-unit order (the draft's object is used
 * when they already were, as they usually are). `like` is the same component as last mapped:
 * when its metadata is the same, its metadata and hash are reused, so what did not change is
 * not hashed again, and so is the whole object when the release keys are the same too.
 */
export function freezeDraft(draft: MetadataDraft, options: FreezeOptions, like?: DesiredComponent): DesiredComponent {
  let metadata = draft.metadata;
  // Object.keys lists integer-like keys first; the check catches that too.
  const keys = Object.keys(metadata);
  let values: string[];
  if (inCodeUnitOrder(keys)) {
    // One call instead of a keyed load per key, which is megamorphic across components.
    values = Object.values(metadata);
  } else {
    keys.sort(compareCodeUnits);
    values = keys.map((key) => metadata[key]!);
    metadata = {};
    for (let index = 0; index < keys.length; index += 1) setOwn(metadata, keys[index]!, values[index]!);
  }
  if (like !== undefined && like.kind === draft.kind && like.name === draft.name && sameMetadata(like.metadata, keys, values)) {
    if (sameList(like.releaseKeys, options.releaseKeys)) return like;
    return Object.freeze({ kind: like.kind, name: like.name, metadata: like.metadata, id: like.id, hash: like.hash, releaseKeys: options.releaseKeys });
  }
  return Object.freeze({
    kind: draft.kind,
    name: draft.name,
    metadata: Object.freeze(metadata),
    id: draft.id,
    hash: hashSortedMetadata(draft.kind, draft.name, keys, values),
    releaseKeys: options.releaseKeys,
  });
}

/**
 * A component is the pair (kind, name), written `kind/name` as its id everywhere: a `/` in a
 * kind would let two different pairs share one id (`a/b` + `c` and `a` + `b/c`), so it is refused.
 */
export function kindProblem(kind: string): string | undefined {
  if (kind === '') return 'empty kind';
  return kind.includes('/') ? `kind "${kind}" contains "/", which would make its id ambiguous` : undefined;
}

export function newDraft(kind: string, name: string, id: ComponentId = componentId(kind, name)): MetadataDraft {
  return { kind, name, id, metadata: {} };
}

/** The metadata one namespace sets, grouped per component while it is read. */
export class ComponentGroups {
  private readonly byId = new Map<ComponentId, MetadataDraft>();

  /** The draft of kind/name, created on first use. */
  private draft(kind: string, name: string): MetadataDraft {
    const id = componentId(kind, name);
    let draft = this.byId.get(id);
    if (draft === undefined) {
      draft = newDraft(kind, name, id);
      this.byId.set(id, draft);
    }
    return draft;
  }

  find(kind: string, name: string): MetadataDraft | undefined {
    return this.byId.get(componentId(kind, name));
  }

  add(kind: string, name: string, key: string, value: string): void {
    setOwn(this.draft(kind, name).metadata, key, value);
  }

  drafts(): MetadataDraft[] {
    return [...this.byId.values()];
  }
}

/**
 * Frozen components in id order (`drafts` is sorted in place; one per id). `previous` (in id
 * order too: the last layer of the same namespace) lends its components wherever nothing changed.
 */
export function freezeDrafts(
  drafts: MetadataDraft[],
  options: FreezeOptions & { readonly previous?: readonly DesiredComponent[] | undefined },
): DesiredComponent[] {
  drafts.sort((a, b) => compareCodeUnits(a.id, b.id));
  const previous = options.previous ?? [];
  const out: DesiredComponent[] = [];
  let cursor = 0;
  for (const draft of drafts) {
    while (cursor < previous.length && previous[cursor]!.id < draft.id) cursor += 1;
    const like = previous[cursor]?.id === draft.id ? previous[cursor] : undefined;
    out.push(freezeDraft(draft, options, like));
  }
  return out;
}
