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
 * Merges layers, lowest priority first. A component exists only while at least one layer sets
 * at least one of its keys; one that a single layer sets is that layer's, unchanged, so an
 * unchanged layer costs no re-hashing however often the set is mapped again. `previous`, the
 * last result, spares re-hashing merged components that did not change.
 */
export function mapLayers(layers: readonly ParsedLayer[], previous?: DesiredState): DesiredState {
  const components = new Map<ComponentId, DesiredComponent>();
  // Every layer is in id order: walk them together, taking the smallest id each time.
  const cursors = layers.map(() => 0);
  for (;;) {
    let next: DesiredComponent | undefined;
    let owner = -1;
    let owners = 0;
    for (let index = 0; index < layers.length; index += 1) {
      const component = layers[index]!.components[cursors[index]!];
      if (component === undefined) continue;
      if (next === undefined || component.id < next.id) {
        next = component;
        owner = index;
        owners = 1;
      } else if (component.id === next.id) {
        owners += 1;
      }
    }
    if (next === undefined) break;
    const id = next.id;
    if (owners === 1) {
      // The common case: one layer sets the component, which is used as is.
      components.set(id, next);
      cursors[owner] = cursors[owner]! + 1;
      continue;
    }
    const parts: LayerPart[] = [];
    for (let index = 0; index < layers.length; index += 1) {
      const component = layers[index]!.components[cursors[index]!];
      if (component === undefined || component.id !== id) continue;
      parts.push({ component, layer: index });
      cursors[index] = cursors[index]! + 1;
    }
    components.set(id, mergeParts(parts, layers, previous?.components.get(id)));
  }
  return Object.freeze({
    components,
    warnings: Object.freeze(layers.flatMap((layer) => layer.warnings)),
  });
}
