import type { NamespaceContent } from '../domain/snapshot.js';
import type { ParsedEntry } from './parsed-layer.js';
import { claimingRules, ruleAppliesTo, type ComponentRule } from './rules.js';

export interface RawEntries {
  readonly entries: readonly ParsedEntry[];
  readonly warnings: readonly string[];
  /** Content that makes the whole release unusable. */
  readonly problems: readonly string[];
}

const LISTED_KEYS = 20;
const NO_RULES: readonly ComponentRule[] = Object.freeze([]);

function listKeys(keys: readonly string[]): string {
  const shown = keys.slice(0, LISTED_KEYS).join(', ');
  return keys.length > LISTED_KEYS ? `${shown} and ${keys.length - LISTED_KEYS} more` : shown;
}

/**
 * Reads a properties namespace. A key taken by a rule is not also read by the convention, and
 * rule entries come after convention entries so that, where both set the same metadata key of
 * the same component, the rule wins.
 */
export function propertiesEntries(ns: NamespaceContent, rules: readonly ComponentRule[]): RawEntries {
  const applicable = rules.filter((rule) => ruleAppliesTo(rule, ns));
  const convention: ParsedEntry[] = [];
  const claimed: ParsedEntry[] = [];
  const ignored: string[] = [];
  const emptyAfterPrefix: string[] = [];
  const problems: string[] = [];

  // Unsorted: the layer is sorted once at the end, and sorting 100,000 keys twice is not free.
  for (const [key, value] of Object.entries(ns.configurations)) {
    const owners = applicable.length > 0 ? claimingRules(key, applicable) : NO_RULES;
    if (owners.length > 0) {
      for (const rule of owners) {
        const metadataKey = key.slice(rule.prefix.length);
        if (metadataKey === '') emptyAfterPrefix.push(key);
        else claimed.push({ kind: rule.kind, name: rule.name, metadataKey, value });
      }
      continue;
    }
    const first = key.indexOf('.');
    const second = first < 0 ? -1 : key.indexOf('.', first + 1);
    if (second < 0) {
      ignored.push(key);
      continue;
    }
    const kind = key.slice(0, first);
    const name = key.slice(first + 1, second);
    const metadataKey = key.slice(second + 1);
    if (kind === '' || name === '' || metadataKey === '') {
      problems.push(`key "${key}" has an empty kind, name or metadata key`);
      continue;
    }
    convention.push({ kind, name, metadataKey, value });
  }

  for (const list of [ignored, emptyAfterPrefix, problems]) list.sort();
  const warnings: string[] = [];
  if (ignored.length > 0) {
    warnings.push(`${ns.name}: ignored ${ignored.length} key(s) that are not <kind>.<name>.<metadataKey>: ${listKeys(ignored)}`);
  }
  if (emptyAfterPrefix.length > 0) {
    warnings.push(`${ns.name}: ignored ${emptyAfterPrefix.length} key(s) equal to a rule's prefix (no metadata key left): ${listKeys(emptyAfterPrefix)}`);
  }
  const overridden = overriddenByRules(convention, claimed);
  if (overridden.length > 0) {
    warnings.push(`${ns.name}: rules override ${overridden.length} metadata key(s) also set by the convention: ${listKeys(overridden)}`);
  }
  return { entries: [...convention, ...claimed], warnings, problems };
}

function overriddenByRules(convention: readonly ParsedEntry[], claimed: readonly ParsedEntry[]): string[] {
  const byRule = new Set(claimed.map((entry) => `${entry.kind}/${entry.name}\u0000${entry.metadataKey}`));
  return convention
    .filter((entry) => byRule.has(`${entry.kind}/${entry.name}\u0000${entry.metadataKey}`))
    .map((entry) => `${entry.kind}.${entry.name}.${entry.metadataKey}`);
}
