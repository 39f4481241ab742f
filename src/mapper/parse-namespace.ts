import { MappingError } from '../domain/errors.js';
import type { NamespaceContent } from '../domain/snapshot.js';
import type { ParsedEntry, ParsedLayer } from './parsed-layer.js';
import { propertiesEntries, type RawEntries } from './properties-entries.js';
import { ruleAppliesTo, type ComponentRule } from './rules.js';
import { structuredEntries } from './structured-entries.js';

/** Layotto keeps metadata in memory and gRPC caps messages at 4 MiB; a bigger value is a mistake. */
export const MAX_VALUE_BYTES = 1024 * 1024;

function rawEntries(ns: NamespaceContent, rules: readonly ComponentRule[]): RawEntries {
  switch (ns.format) {
    case 'properties':
      return propertiesEntries(ns, rules);
    case 'json':
    case 'yaml': {
      const raw = structuredEntries(ns);
      // Rules read keys of properties namespaces; say so rather than let one look broken.
      const ignoredRules = rules.filter((rule) => rule.namespace !== undefined && ruleAppliesTo(rule, ns));
      if (ignoredRules.length === 0) return raw;
      const names = ignoredRules.map((rule) => `${rule.kind}/${rule.name}`).join(', ');
      return { ...raw, warnings: [...raw.warnings, `${ns.name}: rule(s) for ${names} ignored: rules apply to properties namespaces only`] };
    }
    case 'xml':
    case 'txt':
      return { entries: [], warnings: [], problems: [`${ns.format} namespaces cannot describe components; use properties, json or yaml`] };
  }
}

/** The last entry for a kind/name/metadataKey wins; the result is sorted so that equal content gives equal layers. */
function dedupe(entries: readonly ParsedEntry[]): ParsedEntry[] {
  const byKey = new Map<string, ParsedEntry>();
  for (const entry of entries) byKey.set(`${entry.kind}/${entry.name}\u0000${entry.metadataKey}`, Object.freeze({ ...entry }));
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, entry]) => entry);
}

/**
 * One namespace (or file) → metadata entries. Throws MappingError, listing every problem,
 * when any part of the content cannot be read: the caller rejects that release whole and
 * keeps the last good layer of the namespace.
 */
export function parseNamespace(ns: NamespaceContent, rules: readonly ComponentRule[]): ParsedLayer {
  const raw = rawEntries(ns, rules);
  const oversized = raw.entries
    .filter((entry) => Buffer.byteLength(entry.value, 'utf8') > MAX_VALUE_BYTES)
    .map((entry) => `${entry.kind}/${entry.name} ${entry.metadataKey}: value larger than ${MAX_VALUE_BYTES} bytes`);
  const problems = [...raw.problems, ...oversized];
  if (problems.length > 0) throw new MappingError(`cannot map namespace ${ns.name}`, ns.name, problems);
  return Object.freeze({
    namespaceKey: ns.key,
    namespace: ns.name,
    releaseKey: ns.releaseKey,
    entries: Object.freeze(dedupe(raw.entries)),
    warnings: Object.freeze([...raw.warnings]),
  });
}
