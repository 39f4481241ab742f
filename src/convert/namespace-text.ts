import { stringify as stringifyYaml } from 'yaml';
import type { ComponentConfig } from '../domain/component.js';
import { MappingError } from '../domain/errors.js';
import { stringifyProperties } from '../sources/properties-text.js';

export type NamespaceTextFormat = 'properties' | 'json' | 'yaml';

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `{kind: {name: {key: value}}}`, every level sorted, so that equal input gives equal text. */
function nestedMap(components: readonly ComponentConfig[]): Record<string, Record<string, Record<string, string>>> {
  const kinds = new Map<string, [string, Record<string, string>][]>();
  const sorted = [...components].sort((a, b) => byCodeUnits(a.kind, b.kind) || byCodeUnits(a.name, b.name));
  for (const component of sorted) {
    const metadata = Object.fromEntries(Object.entries(component.metadata).sort(([a], [b]) => byCodeUnits(a, b)));
    const names = kinds.get(component.kind) ?? [];
    names.push([component.name, metadata]);
    kinds.set(component.kind, names);
  }
  return Object.fromEntries([...kinds].map(([kind, names]) => [kind, Object.fromEntries(names)]));
}

/**
 * Namespace content that the mapper reads back as exactly `components`: properties keys
 * `<kind>.<name>.<metadataKey>`, or the nested-map form for JSON and YAML. A kind or name with
 * a dot cannot be written as a properties key (the first two dots delimit them): MappingError.
 */
export function formatAsNamespace(components: readonly ComponentConfig[], format: NamespaceTextFormat): string {
  const map = nestedMap(components);
  switch (format) {
    case 'json':
      return `${JSON.stringify(map, null, 2)}\n`;
    case 'yaml':
      // No line folding: a folded long value is the same value, but harder to review.
      return stringifyYaml(map, { lineWidth: 0 });
    case 'properties': {
      const dotted = components.filter((c) => c.kind.includes('.') || c.name.includes('.')).map((c) => `${c.kind}/${c.name}`);
      if (dotted.length > 0) {
        throw new MappingError('cannot write properties', 'properties', dotted.map((id) => `${id}: a dot in the kind or name; use --to json or yaml`));
      }
      const pairs: [string, string][] = [];
      for (const [kind, names] of Object.entries(map)) {
        for (const [name, metadata] of Object.entries(names)) {
          for (const [key, value] of Object.entries(metadata)) pairs.push([`${kind}.${name}.${key}`, value]);
        }
      }
      return stringifyProperties(pairs);
    }
  }
}
