import { componentId, type ComponentId, type DesiredComponent, type DesiredState } from '../domain/component.js';
import { hashComponent } from '../domain/hash.js';
import type { ParsedLayer } from './parsed-layer.js';

interface ComponentDraft {
  readonly kind: string;
  readonly name: string;
  /** metadataKey → value and the index of the layer that set it last. */
  readonly values: Map<string, { value: string; layer: number }>;
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function freezeComponent(draft: ComponentDraft, layers: readonly ParsedLayer[]): DesiredComponent {
  const settings = [...draft.values.entries()].sort(([a], [b]) => byCodeUnits(a, b));
  // fromEntries defines own properties, so even a key named `__proto__` is kept.
  const metadata = Object.freeze(Object.fromEntries(settings.map(([key, { value }]) => [key, value])));
  const contributors = new Set(settings.map(([, { layer }]) => layer));
  const config = { kind: draft.kind, name: draft.name, metadata };
  // Only layers whose values survived count: an overridden layer did not shape this push.
  const releaseKeys = [...contributors]
    .sort((a, b) => a - b)
    .map((index) => `${layers[index]!.namespace}@${layers[index]!.releaseKey}`);
  return Object.freeze({
    ...config,
    id: componentId(draft.kind, draft.name),
    hash: hashComponent(config),
    releaseKeys: Object.freeze(releaseKeys),
  });
}

/**
 * Merges layers, lowest priority first: a later layer overrides an earlier one key by key.
 * A component exists only while at least one layer sets at least one of its keys.
 */
export function mapLayers(layers: readonly ParsedLayer[]): DesiredState {
  const drafts = new Map<ComponentId, ComponentDraft>();
  layers.forEach((layer, index) => {
    for (const entry of layer.entries) {
      const id = componentId(entry.kind, entry.name);
      let draft = drafts.get(id);
      if (!draft) {
        draft = { kind: entry.kind, name: entry.name, values: new Map() };
        drafts.set(id, draft);
      }
      draft.values.set(entry.metadataKey, { value: entry.value, layer: index });
    }
  });
  const components = new Map<ComponentId, DesiredComponent>();
  for (const id of [...drafts.keys()].sort(byCodeUnits)) components.set(id, freezeComponent(drafts.get(id)!, layers));
  return Object.freeze({
    components,
    warnings: Object.freeze(layers.flatMap((layer) => layer.warnings)),
  });
}
