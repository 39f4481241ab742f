import type { NamespaceContent } from '../domain/snapshot.js';
import { setOwn } from '../domain/own-record.js';
import { ComponentGroups, kindProblem, newDraft, type MetadataDraft, type ReadDrafts } from './component-groups.js';
import type { ParsedEntry } from './parsed-layer.js';
import { claimingRules, ruleAppliesTo, type ComponentRule } from './rules.js';

const LISTED_KEYS = 20;

function listKeys(keys: readonly string[]): string {
  const shown = keys.slice(0, LISTED_KEYS).join(', ');
  return keys.length > LISTED_KEYS ? `${shown} and ${keys.length - LISTED_KEYS} more` : shown;
}

interface Skipped {
  /** Keys that are not `<kind>.<name>.<metadataKey>`. */
  readonly ignored: string[];
  /** Keys equal to a rule's prefix. */
  readonly emptyAfterPrefix: string[];
  readonly problems: string[];
}

function noneSkipped(): Skipped {
  return { ignored: [], emptyAfterPrefix: [], problems: [] };
}

/** The drafts of a properties namespace, the keys skipped and the convention's keys the rules override. */
interface PropertiesRead {
  readonly drafts: MetadataDraft[];
  readonly skipped: Skipped;
  readonly overridden: string[];
}

function secondDot(key: string, first: number): number {
  return first < 0 ? -1 : key.indexOf('.', first + 1);
}

/** `<kind>.<name>.<metadataKey>`, given where its first two dots are: none of the three empty. */
function readable(key: string, first: number, second: number): boolean {
  return first > 0 && second > first + 1 && second < key.length - 1;
}

/** A key the convention cannot read: a warning when it has fewer than three segments, else a problem. */
function skipKey(key: string, second: number, skipped: Skipped): void {
  if (second < 0) skipped.ignored.push(key);
  else skipped.problems.push(`key "${key}" has an empty kind, name or metadata key`);
}

/** The kind of a readable key, or undefined (with the problem recorded) when it cannot be one. */
function kindOf(key: string, first: number, skipped: Skipped): string | undefined {
  const kind = key.slice(0, first);
  const problem = kindProblem(kind);
  if (problem === undefined) return kind;
  skipped.problems.push(`key "${key}": ${problem}`);
  return undefined;
}

function readConventionKey(key: string, value: string, groups: ComponentGroups, skipped: Skipped): void {
  const first = key.indexOf('.');
  const second = secondDot(key, first);
  if (!readable(key, first, second)) {
    skipKey(key, second, skipped);
    return;
  }
  const kind = kindOf(key, first, skipped);
  if (kind !== undefined) groups.add(kind, key.slice(first + 1, second), key.slice(second + 1), value);
}

/**
 * The convention over every key: this runs over 100,000 keys at scale, so it does as little
 * per key as it can. Finding two dots is cheap; the `<kind>.<name>.` prefix then names the
 * component, and keys of one component usually come together (Apollo keeps insertion order),
 * so a prefix equal to the last one reuses its draft without a lookup (cheaper here than
 * `startsWith`, which measured three times slower than the two `indexOf` calls and a compare).
 */
function readConvention(configurations: Readonly<Record<string, string>>): PropertiesRead {
  const keys = Object.keys(configurations);
  const skipped = noneSkipped();
  // Keyed by prefix, which names kind and name as one (neither holds a dot): no id map needed.
  const byPrefix = new Map<string, MetadataDraft>();
  const drafts: MetadataDraft[] = [];
  let lastPrefix = '';
  let draft: MetadataDraft | undefined;
  for (let index = 0; index < keys.length; index += 1) {
    const key = keys[index]!;
    const first = key.indexOf('.');
    const second = secondDot(key, first);
    if (!readable(key, first, second)) {
      skipKey(key, second, skipped);
      continue;
    }
    const prefix = key.slice(0, second + 1);
    if (draft === undefined || prefix !== lastPrefix) {
      draft = byPrefix.get(prefix);
      if (draft === undefined) {
        const kind = kindOf(key, first, skipped);
        if (kind === undefined) continue;
        draft = newDraft(kind, key.slice(first + 1, second));
        byPrefix.set(prefix, draft);
        drafts.push(draft);
      }
      lastPrefix = prefix;
    }
    setOwn(draft.metadata, key.slice(second + 1), configurations[key]!);
  }
  return { drafts, skipped, overridden: [] };
}

/**
 * Where rules apply: a key taken by a rule is not also read by the convention, and rule entries
 * are added after the convention's so that, where both set the same metadata key of the same
 * component, the rule wins. Also returns the `<kind>.<name>.<metadataKey>` keys the rules override.
 */
function readWithRules(configurations: Readonly<Record<string, string>>, rules: readonly ComponentRule[]): PropertiesRead {
  const skipped = noneSkipped();
  const groups = new ComponentGroups();
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
  return { drafts: groups.drafts(), skipped, overridden };
}

/** Claimed keys the convention also set; run before the claimed entries join their components. */
function overriddenByRules(groups: ComponentGroups, claimed: readonly ParsedEntry[]): string[] {
  // A Set: two rules sharing a prefix and a component override a key once.
  const overridden = new Set<string>();
  for (const entry of claimed) {
    const draft = groups.find(entry.kind, entry.name);
    if (draft !== undefined && Object.hasOwn(draft.metadata, entry.metadataKey)) overridden.add(`${entry.kind}.${entry.name}.${entry.metadataKey}`);
  }
  return [...overridden];
}

/** Reads a properties namespace: the rules that apply to it, and the convention for the other keys. */
export function readProperties(ns: NamespaceContent, rules: readonly ComponentRule[]): ReadDrafts {
  const applicable = rules.filter((rule) => ruleAppliesTo(rule, ns));
  const { drafts, skipped, overridden } = applicable.length === 0 ? readConvention(ns.configurations) : readWithRules(ns.configurations, applicable);

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
  return { drafts, warnings, problems: skipped.problems };
}
