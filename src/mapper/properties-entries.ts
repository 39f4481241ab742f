import type { NamespaceContent } from '../domain/snapshot.js';
import type { ComponentGroups, MetadataDraft } from './component-groups.js';
import type { ParsedEntry, ReadOutcome } from './parsed-layer.js';
import { claimingRules, ruleAppliesTo, type ComponentRule } from './rules.js';

const LISTED_KEYS = 20;

function listKeys(keys: readonly string[]): string {
  const shown = keys.slice(0, LISTED_KEYS).join(', ');
  return keys.length > LISTED_KEYS ? `${shown} and ${keys.length - LISTED_KEYS} more` : shown;
}

interface Skipped {
  /** Keys that are not `<kind>.<name>.<metadataKey>`. */
  readonly ignored: string[];
  readonly problems: string[];
}

/**
 * The `<kind>.<name>.<metadataKey>` convention for one key. Returns the `<kind>.<name>.` prefix
 * it read, or undefined for a key it skipped.
 */
function readConventionKey(key: string, value: string, groups: ComponentGroups, skipped: Skipped): { prefix: string; draft: MetadataDraft } | undefined {
  const first = key.indexOf('.');
  const second = first < 0 ? -1 : key.indexOf('.', first + 1);
  if (second < 0) {
    skipped.ignored.push(key);
    return undefined;
  }
  if (first === 0 || second === first + 1 || second === key.length - 1) {
    skipped.problems.push(`key "${key}" has an empty kind, name or metadata key`);
    return undefined;
  }
  const draft = groups.draft(key.slice(0, first), key.slice(first + 1, second));
  draft.keys.push(key.slice(second + 1));
  draft.values.push(value);
  return { prefix: key.slice(0, second + 1), draft };
}

/**
 * The convention over every key: this runs over 100,000 keys at scale. Keys of one component
 * usually come together (Apollo keeps insertion order), so a key that starts with the last
 * key's `<kind>.<name>.` goes straight to that component's draft, with one substring and no
 * lookup; a kind or name holds no dot, so such a key has exactly that kind and name.
 */
function readConvention(configurations: Readonly<Record<string, string>>, groups: ComponentGroups, skipped: Skipped): void {
  const keys = Object.keys(configurations);
  let prefix = '';
  let draft: MetadataDraft | undefined;
  for (let index = 0; index < keys.length; index += 1) {
    const key = keys[index]!;
    const value = configurations[key]!;
    if (draft !== undefined && key.length > prefix.length && key.startsWith(prefix)) {
      draft.keys.push(key.slice(prefix.length));
      draft.values.push(value);
      continue;
    }
    const read = readConventionKey(key, value, groups, skipped);
    if (read !== undefined) ({ prefix, draft } = read);
  }
}

/**
 * Where rules apply: a key taken by a rule is not also read by the convention, and rule entries
 * are added after the convention's so that, where both set the same metadata key of the same
 * component, the rule wins. Returns the `<kind>.<name>.<metadataKey>` keys the rules override.
 */
function readWithRules(
  configurations: Readonly<Record<string, string>>,
  rules: readonly ComponentRule[],
  groups: ComponentGroups,
  skipped: Skipped & { readonly emptyAfterPrefix: string[] },
): string[] {
  const claimed: ParsedEntry[] = [];
  for (const key of Object.keys(configurations)) {
    const value = configurations[key]!;
    const owners = claimingRules(key, rules);
    if (owners.length === 0) {
      readConventionKey(key, value, groups, skipped);
      continue;
    }
    for (const rule of owners) {
      const metadataKey = key.slice(rule.prefix.length);
      if (metadataKey === '') skipped.emptyAfterPrefix.push(key);
      else claimed.push({ kind: rule.kind, name: rule.name, metadataKey, value });
    }
  }
  const overridden = overriddenByRules(groups, claimed);
  for (const entry of claimed) groups.add(entry.kind, entry.name, entry.metadataKey, entry.value);
  return overridden;
}

/** Claimed keys the convention also set; run before the claimed entries join their components. */
function overriddenByRules(groups: ComponentGroups, claimed: readonly ParsedEntry[]): string[] {
  const conventionKeys = new Map<MetadataDraft, Set<string>>();
  const overridden: string[] = [];
  for (const entry of claimed) {
    const draft = groups.find(entry.kind, entry.name);
    if (draft === undefined) continue;
    let keys = conventionKeys.get(draft);
    if (keys === undefined) {
      keys = new Set(draft.keys);
      conventionKeys.set(draft, keys);
    }
    // Deleted once listed: two rules sharing a prefix and a component override a key once.
    if (keys.delete(entry.metadataKey)) overridden.push(`${entry.kind}.${entry.name}.${entry.metadataKey}`);
  }
  return overridden;
}

/** Reads a properties namespace into `groups`. */
export function readProperties(ns: NamespaceContent, rules: readonly ComponentRule[], groups: ComponentGroups): ReadOutcome {
  const applicable = rules.filter((rule) => ruleAppliesTo(rule, ns));
  const skipped = { ignored: [] as string[], problems: [] as string[], emptyAfterPrefix: [] as string[] };
  let overridden: string[] = [];
  if (applicable.length > 0) overridden = readWithRules(ns.configurations, applicable, groups, skipped);
  else readConvention(ns.configurations, groups, skipped);

  for (const list of [skipped.ignored, skipped.emptyAfterPrefix, skipped.problems, overridden]) list.sort();
  const warnings: string[] = [];
  if (skipped.ignored.length > 0) {
    warnings.push(`${ns.name}: ignored ${skipped.ignored.length} key(s) that are not <kind>.<name>.<metadataKey>: ${listKeys(skipped.ignored)}`);
  }
  if (skipped.emptyAfterPrefix.length > 0) {
    warnings.push(
      `${ns.name}: ignored ${skipped.emptyAfterPrefix.length} key(s) equal to a rule's prefix (no metadata key left): ${listKeys(skipped.emptyAfterPrefix)}`,
    );
  }
  if (overridden.length > 0) {
    warnings.push(`${ns.name}: rules override ${overridden.length} metadata key(s) also set by the convention: ${listKeys(overridden)}`);
  }
  return { warnings, problems: skipped.problems };
}
