import type { ComponentId, DesiredComponent, DesiredState } from '../domain/component.js';
import { setOwn } from '../domain/own-record.js';
import { freezeDraft, newDraft } from './component-groups.js';
import { layerReleaseKey, type ParsedLayer } from './parsed-layer.js';

interface LayerPart {
  readonly component: DesiredComponent;
  /** Index of the layer it comes from: a higher one overrides. */
  readonly layer: number;
}

/**
 * A component several layers set: a later layer overrides an earlier one key by key, and only
 * layers whose values survived count among its release keys. When they all come from one
 * layer that sets nothing else, that layer's component is the result as is; `like`, the same
 * component as last mapped, lends its metadata and hash when the result has not changed.
 */
function mergeParts(parts: readonly LayerPart[], layers: readonly ParsedLayer[], like: DesiredComponent | undefined): DesiredComponent {
  const { kind, name, id } = parts[0]!.component;
  const draft = newDraft(kind, name, id);
  const setBy = new Map<string, LayerPart>();
  for (const part of parts) {
    const { metadata } = part.component;
    for (const key of Object.keys(metadata)) {
      setOwn(draft.metadata, key, metadata[key]!);
      setBy.set(key, part);
    }
  }
  const contributors = [...new Set(setBy.values())].sort((a, b) => a.layer - b.layer);
  const only = contributors.length === 1 ? contributors[0]!.component : undefined;
  if (only !== undefined && Object.keys(only.metadata).length === setBy.size) return only;
  return freezeDraft(draft, { releaseKeys: Object.freeze(contributors.map((part) => layerReleaseKey(layers[part.layer]!))) }, like);
}

/**
 * The layers' next components, smallest id first and, for one id, lowest layer first: a binary
 * heap of one cursor per layer, so that merging k layers costs log k per component (walking
 * every layer for every component made a directory of 20,000 files quadratic).
 */
class LayerCursors {
  readonly #heap: number[] = [];
  readonly #positions: number[];

  constructor(private readonly layers: readonly ParsedLayer[]) {
    this.#positions = layers.map(() => 0);
    layers.forEach((layer, index) => {
      if (layer.components.length > 0) this.#push(index);
    });
  }

  /** The component at the top and its layer, without moving. */
  peek(): LayerPart | undefined {
    const layer = this.#heap[0];
    return layer === undefined ? undefined : { component: this.#current(layer)!, layer };
  }

  /** Moves the top layer's cursor past its component. */
  advance(): void {
    const layer = this.#heap[0]!;
    this.#positions[layer] = this.#positions[layer]! + 1;
    if (this.#current(layer) !== undefined) this.#down(0);
    else {
      const last = this.#heap.pop()!;
      if (this.#heap.length > 0) {
        this.#heap[0] = last;
        this.#down(0);
      }
    }
  }

  #current(layer: number): DesiredComponent | undefined {
    return this.layers[layer]!.components[this.#positions[layer]!];
  }

  #before(a: number, b: number): boolean {
    const idA = this.#current(a)!.id;
    const idB = this.#current(b)!.id;
    return idA < idB || (idA === idB && a < b);
  }

  #push(layer: number): void {
    const heap = this.#heap;
    heap.push(layer);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.#before(heap[index]!, heap[parent]!)) break;
      [heap[index], heap[parent]] = [heap[parent]!, heap[index]!];
      index = parent;
    }
  }

  #down(start: number): void {
    const heap = this.#heap;
    let index = start;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < heap.length && this.#before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && this.#before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === index) return;
      [heap[index], heap[smallest]] = [heap[smallest]!, heap[index]!];
      index = smallest;
    }
  }
}

/**
 * Merges layers, lowest priority first. A component exists only while at least one layer sets
 * at least one of its keys; one that a single layer sets is that layer's, unchanged, so an
 * unchanged layer costs no re-hashing however often the set is mapped again. `previous`, the
 * last result, spares re-hashing merged components that did not change.
 */
export function mapLayers(layers: readonly ParsedLayer[], previous?: DesiredState): DesiredState {
  const components = new Map<ComponentId, DesiredComponent>();
  // Every layer is in id order: a heap of cursors takes the smallest id each time.
  const cursors = new LayerCursors(layers);
  for (let first = cursors.peek(); first !== undefined; first = cursors.peek()) {
    const { id } = first.component;
    const parts: LayerPart[] = [];
    for (let part: LayerPart | undefined = first; part !== undefined && part.component.id === id; part = cursors.peek()) {
      parts.push(part);
      cursors.advance();
    }
    // The common case: one layer sets the component, which is used as is.
    components.set(id, parts.length === 1 ? first.component : mergeParts(parts, layers, previous?.components.get(id)));
  }
  return Object.freeze({
    components,
    warnings: Object.freeze(layers.flatMap((layer) => layer.warnings)),
  });
}
