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

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareEntries(a: ParsedEntry, b: ParsedEntry): number {
  return compareCodeUnits(a.kind, b.kind) || compareCodeUnits(a.name, b.name) || compareCodeUnits(a.metadataKey, b.metadataKey);
}

/**
 * The last entry for a kind/name/metadataKey wins; the result is sorted so that equal content
 * gives equal layers. Sorting first (stable) puts duplicates next to each other, so no key
 * strings are built: this runs over every key of a release, 100,000 of them at scale.
 */
function dedupe(entries: readonly ParsedEntry[]): ParsedEntry[] {
  const sorted = entries.map((entry, index) => ({ entry, index })).sort((a, b) => compareEntries(a.entry, b.entry) || a.index - b.index);
  const out: ParsedEntry[] = [];
  for (const { entry } of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && compareEntries(last, entry) === 0) out[out.length - 1] = Object.freeze(entry);
    else out.push(Object.freeze(entry));
  }
  return out;
}

/** Byte length only where it can matter: a string of n UTF-16 units is at most 3n UTF-8 bytes. */
function oversized(value: string): boolean {
  return value.length * 3 > MAX_VALUE_BYTES && Buffer.byteLength(value, 'utf8') > MAX_VALUE_BYTES;
}

/**
 * One namespace (or file) → metadata entries. Throws MappingError, listing every problem,
 * when any part of the content cannot be read: the caller rejects that release whole and
 * keeps the last good layer of the namespace.
 */
export function parseNamespace(ns: NamespaceContent, rules: readonly ComponentRule[]): ParsedLayer {
  const raw = rawEntries(ns, rules);
  const tooLarge = raw.entries
    .filter((entry) => oversized(entry.value))
    .map((entry) => `${entry.kind}/${entry.name} ${entry.metadataKey}: value larger than ${MAX_VALUE_BYTES} bytes`);
  const problems = [...raw.problems, ...tooLarge];
  if (problems.length > 0) throw new MappingError(`cannot map namespace ${ns.name}`, ns.name, problems);
  return Object.freeze({
    namespaceKey: ns.key,
    namespace: ns.name,
    releaseKey: ns.releaseKey,
    entries: Object.freeze(dedupe(raw.entries)),
    warnings: Object.freeze([...raw.warnings]),
  });
}
