import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { errorMessage } from '../domain/errors.js';
import type { NamespaceContent } from '../domain/snapshot.js';
import type { ParsedEntry, ReadOutcome } from './parsed-layer.js';

export interface RawEntries extends ReadOutcome {
  readonly entries: readonly ParsedEntry[];
}

/**
 * JSON and YAML namespaces carry their whole text in `configurations.content` and describe
 * components either as a list `[{kind, name, metadata}]` or as a nested map
 * `{<kind>: {<name>: {<metadataKey>: value}}}`.
 *
 * Values are strings on the wire, so every metadata value is turned into one here:
 * numbers and booleans as written (YAML keeps the source text, so `1.10` stays `1.10`;
 * JSON.parse cannot, so JSON numbers take JavaScript's shortest form and integers beyond
 * 2^53, which would silently change, are rejected: quote them), objects and arrays as
 * compact JSON, and null (or an empty YAML value) as the empty string, the same as an empty
 * properties value. A null component, kind or metadata block means "nothing here".
 */

/** A parsed document cut off at metadata values, which are already strings (or null). */
type Tree = string | null | readonly Tree[] | { readonly [key: string]: Tree };

/** Root → list item or kind → metadata block or name → metadata value. */
const VALUE_DEPTH = 3;

interface Conversion {
  readonly problems: string[];
}

function jsonToTree(value: unknown, depth: number, path: string, conversion: Conversion): Tree {
  if (value === null || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
      conversion.problems.push(`${path}: the number ${String(value)} cannot be kept exactly; write it as a string`);
    }
    return String(value);
  }
  if (typeof value === 'boolean') return String(value);
  if (depth >= VALUE_DEPTH) return JSON.stringify(value);
  if (Array.isArray(value)) return value.map((item, index) => jsonToTree(item, depth + 1, `${path}[${index}]`, conversion));
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([key, inner]) => [key, jsonToTree(inner, depth + 1, `${path}.${key}`, conversion)]),
  );
}

function yamlToTree(node: unknown, doc: Document, depth: number, path: string, conversion: Conversion): Tree {
  if (isAlias(node)) return yamlToTree(node.resolve(doc), doc, depth, path, conversion);
  if (node === null || node === undefined) return null;
  if (isScalar(node)) {
    const value = node.value;
    if (value === null || value === undefined) return null;
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return node.source ?? String(value);
    conversion.problems.push(`${path}: unsupported value type ${typeof value}`);
    return null;
  }
  if (!isMap(node) && !isSeq(node)) {
    conversion.problems.push(`${path}: unsupported YAML node`);
    return null;
  }
  if (depth >= VALUE_DEPTH) return JSON.stringify(node.toJS(doc));
  if (isSeq(node)) return node.items.map((item, index) => yamlToTree(item, doc, depth + 1, `${path}[${index}]`, conversion));
  const pairs: [string, Tree][] = [];
  for (const pair of node.items) {
    const keyNode: unknown = isAlias(pair.key) ? pair.key.resolve(doc) : pair.key;
    const key = isScalar(keyNode) ? yamlToTree(keyNode, doc, VALUE_DEPTH, path, conversion) : null;
    if (typeof key !== 'string') {
      conversion.problems.push(`${path}: map keys must be strings`);
      continue;
    }
    pairs.push([key, yamlToTree(pair.value, doc, depth + 1, `${path}.${key}`, conversion)]);
  }
  return Object.fromEntries(pairs);
}

const metadataValue = z.string().nullable();
const metadataBlock = z.record(z.string().min(1, 'empty metadata key'), metadataValue).nullable();
const listItem = z.looseObject({
  kind: z.string().min(1, 'empty kind'),
  name: z.string().min(1, 'empty name'),
  metadata: metadataBlock.optional(),
});
const listForm = z.array(listItem);
const nestedForm = z.record(
  z.string().min(1, 'empty kind'),
  z.record(z.string().min(1, 'empty name'), metadataBlock).nullable(),
);
const LIST_ITEM_FIELDS = new Set(['kind', 'name', 'metadata']);

function issuesToProblems(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`);
}

function blockEntries(kind: string, name: string, block: Readonly<Record<string, string | null>> | null | undefined): ParsedEntry[] {
  return Object.entries(block ?? {}).map(([metadataKey, value]) => ({ kind, name, metadataKey, value: value ?? '' }));
}

function treeEntries(ns: NamespaceContent, tree: Tree): RawEntries {
  if (tree === null) return { entries: [], warnings: [], problems: [] };
  if (Array.isArray(tree)) {
    const parsed = listForm.safeParse(tree);
    if (!parsed.success) return { entries: [], warnings: [], problems: issuesToProblems(parsed.error) };
    const warnings: string[] = [];
    parsed.data.forEach((item, index) => {
      const extra = Object.keys(item).filter((field) => !LIST_ITEM_FIELDS.has(field));
      if (extra.length > 0) warnings.push(`${ns.name}: entry ${index} (${item.kind}/${item.name}): ignored field(s) ${extra.join(', ')}`);
    });
    return { entries: parsed.data.flatMap((item) => blockEntries(item.kind, item.name, item.metadata)), warnings, problems: [] };
  }
  if (typeof tree !== 'object') {
    return { entries: [], warnings: [], problems: ['expected a list of components or a map of kind → name → metadata'] };
  }
  const parsed = nestedForm.safeParse(tree);
  if (!parsed.success) return { entries: [], warnings: [], problems: issuesToProblems(parsed.error) };
  const entries = Object.entries(parsed.data).flatMap(([kind, names]) =>
    Object.entries(names ?? {}).flatMap(([name, block]) => blockEntries(kind, name, block)),
  );
  return { entries, warnings: [], problems: [] };
}

function parseText(ns: NamespaceContent, text: string, conversion: Conversion): Tree {
  if (ns.format === 'json') {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      conversion.problems.push(`invalid JSON: ${errorMessage(error)}`);
      return null;
    }
    return jsonToTree(value, 0, '(root)', conversion);
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    conversion.problems.push(...doc.errors.map((error) => `invalid YAML: ${error.message}`));
    return null;
  }
  return yamlToTree(doc.contents, doc, 0, '(root)', conversion);
}

/** `format` must be json or yaml. Empty content means the namespace holds no components. */
export function structuredEntries(ns: NamespaceContent): RawEntries {
  const text = ns.configurations['content'];
  const otherKeys = Object.keys(ns.configurations).filter((key) => key !== 'content');
  if (text === undefined && otherKeys.length > 0) {
    return { entries: [], warnings: [], problems: [`expected the ${ns.format} text in configurations.content, found keys ${otherKeys.join(', ')}`] };
  }
  if (text === undefined || text.trim() === '') return { entries: [], warnings: [], problems: [] };
  const conversion: Conversion = { problems: [] };
  let tree: Tree;
  try {
    tree = parseText(ns, text, conversion);
  } catch (error) {
    // Content can still defeat the conversion (a YAML alias that contains itself cannot be JSON).
    return { entries: [], warnings: [], problems: [`cannot read the ${ns.format} content: ${errorMessage(error)}`] };
  }
  if (conversion.problems.length > 0) return { entries: [], warnings: [], problems: conversion.problems };
  return treeEntries(ns, tree);
}
