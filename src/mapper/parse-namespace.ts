import { MappingError } from '../domain/errors.js';
import type { NamespaceContent } from '../domain/snapshot.js';
import { ComponentGroups, freezeDrafts, type ReadDrafts } from './component-groups.js';
import { layerReleaseKey, type ParsedLayer } from './parsed-layer.js';
import { readProperties } from './properties-entries.js';
import { ruleAppliesTo, type ComponentRule } from './rules.js';
import { structuredEntries } from './structured-entries.js';

/**
 * Go's protobuf refuses invalid UTF-8, and a lone UTF-16 surrogate has no UTF-8 form: such a
 * key or value would be refused by the sidecar (or silently altered), so the release is rejected.
 * `isWellFormed` is false exactly when a string holds a lone surrogate; it is native, where a
 * regular expression runs in V8's interpreter under --lite-mode (48 of the ~270 ms 100,000 keys took).
 */
function textProblem(key: string, value: string): string | undefined {
  if (!key.isWellFormed()) return `key "${key}" contains a lone UTF-16 surrogate, which has no UTF-8 form`;
  return value.isWellFormed() ? undefined : `value of key "${key}" contains a lone UTF-16 surrogate, which has no UTF-8 form`;
}

function malformedProperties(configurations: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(configurations)) {
    const problem = textProblem(key, configurations[key]!);
    if (problem !== undefined) problems.push(problem);
  }
  return problems;
}

function readStructured(ns: NamespaceContent, rules: readonly ComponentRule[]): ReadDrafts {
  const raw = structuredEntries(ns);
  const groups = new ComponentGroups();
  const problems = [...raw.problems];
  for (const entry of raw.entries) {
    const problem = textProblem(`${entry.kind}.${entry.name}.${entry.metadataKey}`, entry.value);
    if (problem !== undefined) problems.push(problem);
    else groups.add(entry.kind, entry.name, entry.metadataKey, entry.value);
  }
  const read = { drafts: groups.drafts(), warnings: raw.warnings, problems };
  // Rules read keys of properties namespaces; say so rather than let one look broken.
  const ignoredRules = rules.filter((rule) => rule.namespace !== undefined && ruleAppliesTo(rule, ns));
  if (ignoredRules.length === 0) return read;
  const names = ignoredRules.map((rule) => `${rule.kind}/${rule.name}`).join(', ');
  return { ...read, warnings: [...raw.warnings, `${ns.name}: rule(s) for ${names} ignored: rules apply to properties namespaces only`] };
}

function read(ns: NamespaceContent, rules: readonly ComponentRule[]): ReadDrafts {
  switch (ns.format) {
    case 'properties': {
      const malformed = malformedProperties(ns.configurations);
      return malformed.length > 0 ? { drafts: [], warnings: [], problems: malformed } : readProperties(ns, rules);
    }
    case 'json':
    case 'yaml':
      return readStructured(ns, rules);
    case 'xml':
    case 'txt':
      return { drafts: [], warnings: [], problems: [`${ns.format} namespaces cannot describe components; use properties, json or yaml`] };
  }
}

/**
 * One namespace (or file) → its components; within it, the last value for a kind/name/metadataKey
 * wins. Throws MappingError, listing every problem, when any part of the content cannot be read:
 * the caller rejects that release whole and keeps the last good layer of the namespace.
 * `previous`, the last good layer of the same namespace, lends every component that did not
 * change, so a release that changes one key hashes one component.
 */
export function parseNamespace(ns: NamespaceContent, rules: readonly ComponentRule[], previous?: ParsedLayer): ParsedLayer {
  if (ns.undecodable !== undefined) throw new MappingError(`cannot map namespace ${ns.name}`, ns.name, [ns.undecodable]);
  const outcome = read(ns, rules);
  const { problems } = outcome;
  const components = freezeDrafts(outcome.drafts, {
    releaseKeys: Object.freeze([layerReleaseKey({ namespace: ns.name, releaseKey: ns.releaseKey })]),
    previous: previous?.components,
  });
  if (problems.length > 0) throw new MappingError(`cannot map namespace ${ns.name}`, ns.name, problems);
  return Object.freeze({
    namespaceKey: ns.key,
    namespace: ns.name,
    releaseKey: ns.releaseKey,
    components: Object.freeze(components),
    warnings: Object.freeze([...outcome.warnings]),
  });
}
