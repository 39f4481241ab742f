import { z } from 'zod';
import type { NamespaceContent } from '../domain/snapshot.js';

/**
 * An explicit mapping from the agent config: every key of a properties namespace that starts
 * with `prefix` becomes metadata (prefix stripped) of `kind/name`, instead of being read by the
 * `<kind>.<name>.<metadataKey>` convention.
 */
export const componentRuleSchema = z
  .strictObject({
    kind: z.string().min(1).refine((kind) => !kind.includes('/'), 'a kind cannot contain "/"'),
    name: z.string().min(1),
    /** Limits the rule to one namespace, matched the way Apollo does (case-insensitive, `.properties` ignored). */
    namespace: z.string().min(1).optional(),
    prefix: z.string(),
  })
  .refine((rule) => rule.prefix !== '' || rule.namespace !== undefined, {
    message: 'an empty prefix takes every key, so it must be limited to one namespace',
    path: ['prefix'],
  });

export type ComponentRule = z.infer<typeof componentRuleSchema>;

function normalizeNamespace(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.properties') ? lower.slice(0, -'.properties'.length) : lower;
}

/**
 * Files are named by their path, so a rule may also name a file by its base name
 * (`app` or `app.properties` for `/etc/agent/app.properties`).
 */
export function ruleAppliesTo(rule: ComponentRule, ns: NamespaceContent): boolean {
  if (rule.namespace === undefined) return true;
  const wanted = normalizeNamespace(rule.namespace);
  if (normalizeNamespace(ns.name) === wanted) return true;
  if (ns.origin !== 'file') return false;
  const base = ns.name.slice(ns.name.lastIndexOf('/') + 1);
  return normalizeNamespace(base) === wanted;
}

/**
 * The rules that take `key`: those with the longest matching prefix. A more specific prefix
 * wins (`redis.lock.` over `redis.`), while rules sharing that same prefix all receive the key,
 * which lets one block of keys configure several components on purpose.
 */
export function claimingRules(key: string, rules: readonly ComponentRule[]): readonly ComponentRule[] {
  let longest = -1;
  let claimed: ComponentRule[] = [];
  for (const rule of rules) {
    if (!key.startsWith(rule.prefix)) continue;
    if (rule.prefix.length > longest) {
      longest = rule.prefix.length;
      claimed = [rule];
    } else if (rule.prefix.length === longest) {
      claimed.push(rule);
    }
  }
  return claimed;
}
