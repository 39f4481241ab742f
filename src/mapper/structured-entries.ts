import { isAlias, isMap, isScalar, isSeq, parseDocument, visit, type Alias, type Document, type Node as YamlNode } from 'yaml';
import { errorMessage } from '../domain/errors.js';
import type { NamespaceContent } from '../domain/snapshot.js';
import { kindProblem } from './component-groups.js';
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
 *
 * Maps are read into `Map`s, so every key is data: `__proto__` or `constructor` is a kind,
 * name or metadata key like any other, never an object's prototype or a method.
 */

/** A parsed document cut off at metadata values, which are already strings (or null). */
type Tree = string | null | readonly Tree[] | ReadonlyMap<string, Tree>;

/** Root → list item or kind → metadata block or name → metadata value. */
const VALUE_DEPTH = 3;

/**
 * The yaml library's own guard against alias expansion (each anchor's uses times the aliases
 * inside it, at every depth): a billion-laughs document is refused before it is expanded.
 */
export const MAX_YAML_ALIAS_COUNT = 100;

/**
 * The yaml library parses a few MiB a second and cannot be interrupted: a larger YAML text
 * would stall the agent (and /healthz) for seconds. JSON, parsed a hundred times faster, takes
 * up to the 8 MiB body cap.
 */
export const MAX_YAML_BYTES = 1024 * 1024;

interface Conversion {
  readonly problems: string[];
}

function isTreeMap(tree: Tree): tree is ReadonlyMap<string, Tree> {
  return tree instanceof Map;
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
  // JSON.parse defines every key as an own property, `__proto__` included.
  const object = value as Record<string, unknown>;
  return new Map(Object.keys(object).map((key) => [key, jsonToTree(object[key], depth + 1, `${path}.${key}`, conversion)]));
}

/**
 * The node each alias stands for, found in one walk in document order (an alias names the last
 * anchor of its name before it). The library resolves an alias by walking the whole document
 * again, which made a document of many aliases quadratic.
 */
function resolveAliases(doc: Document): Map<Alias, YamlNode> {
  const anchors = new Map<string, YamlNode>();
  const targets = new Map<Alias, YamlNode>();
  visit(doc, {
    Node: (_key, node) => {
      if (isAlias(node)) {
        const target = anchors.get(node.source);
        if (target !== undefined) targets.set(node, target);
      } else if (node.anchor) {
        anchors.set(node.anchor, node);
      }
    },
  });
  return targets;
}

/** Reads YAML nodes into a Tree (and, below the value depth, into plain data for JSON). */
class YamlReader {
  /** Collections being read, to refuse an alias that contains itself. */
  readonly #open = new Set<YamlNode>();

  constructor(
    private readonly targets: ReadonlyMap<Alias, YamlNode>,
    private readonly conversion: Conversion,
  ) {}

  #resolve(node: unknown, path: string): unknown {
    if (!isAlias(node)) return node;
    const target = this.targets.get(node);
    if (target === undefined) this.conversion.problems.push(`${path}: alias *${node.source} names no anchor before it`);
    return target ?? null;
  }

  #scalar(node: unknown, path: string): string | null {
    if (!isScalar(node)) return null;
    const value = node.value;
    if (value === null || value === undefined) return null;
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return node.source ?? String(value);
    this.conversion.problems.push(`${path}: unsupported value type ${typeof value}`);
    return null;
  }

  /** Every pair of a map, keys as text; a key that is not a scalar, or a repeated one, is a problem. */
  #pairs<T>(node: YamlNode, path: string, read: (value: unknown, path: string) => T): Map<string, T> {
    const out = new Map<string, T>();
    if (!isMap(node)) return out;
    for (const pair of node.items) {
      const keyNode = this.#resolve(pair.key, path);
      const key = isScalar(keyNode) ? (this.#scalar(keyNode, path) ?? '') : undefined;
      if (key === undefined) {
        this.conversion.problems.push(`${path}: map keys must be strings`);
        continue;
      }
      if (out.has(key)) {
        this.conversion.problems.push(`${path}: map key "${key}" appears twice`);
        continue;
      }
      out.set(key, read(pair.value, `${path}.${key}`));
    }
    return out;
  }

  #collection<T>(node: YamlNode, path: string, read: () => T): T | null {
    if (this.#open.has(node)) {
      this.conversion.problems.push(`${path}: an alias contains itself`);
      return null;
    }
    this.#open.add(node);
    try {
      return read();
    } finally {
      this.#open.delete(node);
    }
  }

  tree(raw: unknown, depth: number, path: string): Tree {
    const node = this.#resolve(raw, path);
    if (node === null || node === undefined) return null;
    if (isScalar(node)) return this.#scalar(node, path);
    if (!isMap(node) && !isSeq(node)) {
      this.conversion.problems.push(`${path}: unsupported YAML node`);
      return null;
    }
    if (depth >= VALUE_DEPTH) return JSON.stringify(this.data(node, path));
    return this.#collection(node, path, () =>
      isSeq(node)
        ? node.items.map((item, index) => this.tree(item, depth + 1, `${path}[${index}]`))
        : this.#pairs(node, path, (value, inner) => this.tree(value, depth + 1, inner)),
    );
  }

  /** Plain data for JSON: numbers stay numbers here, as they would in any YAML-to-JSON tool. */
  data(raw: unknown, path: string): unknown {
    const node = this.#resolve(raw, path);
    if (isScalar(node)) return node.value ?? null;
    if (!isMap(node) && !isSeq(node)) return null;
    return this.#collection(node, path, () => {
      if (isSeq(node)) return node.items.map((item, index) => this.data(item, `${path}[${index}]`));
      // A null-prototype object: `__proto__` is a key like the others, and JSON.stringify writes it.
      const object = Object.create(null) as Record<string, unknown>;
      for (const [key, value] of this.#pairs(node, path, (inner, innerPath) => this.data(inner, innerPath))) object[key] = value;
      return object;
    });
  }
}

function yamlToTree(text: string, conversion: Conversion): Tree {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_YAML_BYTES) {
    conversion.problems.push(`the YAML text is ${bytes} bytes, over the limit of ${MAX_YAML_BYTES}: split it into several namespaces or use JSON`);
    return null;
  }
  // Duplicate keys are found while reading, in linear time; the library's check is quadratic in a map's size.
  const doc = parseDocument(text, { uniqueKeys: false });
  if (doc.errors.length > 0) {
    conversion.problems.push(...doc.errors.map((error) => `invalid YAML: ${error.message}`));
    return null;
  }
  // Without a `*` there is no alias: the walk that finds their anchors is skipped.
  const targets = text.includes('*') ? resolveAliases(doc) : new Map<Alias, YamlNode>();
  if (targets.size > 0) {
    try {
      doc.toJS({ maxAliasCount: MAX_YAML_ALIAS_COUNT });
    } catch (error) {
      conversion.problems.push(`YAML aliases expand too far (at most ${MAX_YAML_ALIAS_COUNT} uses of an anchor's content): ${errorMessage(error)}`);
      return null;
    }
  }
  return new YamlReader(targets, conversion).tree(doc.contents, 0, '(root)');
}

function parseText(ns: NamespaceContent, text: string, conversion: Conversion): Tree {
  if (ns.format !== 'json') return yamlToTree(text, conversion);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    conversion.problems.push(`invalid JSON: ${errorMessage(error)}`);
    return null;
  }
  return jsonToTree(value, 0, '(root)', conversion);
}

const LIST_ITEM_FIELDS = new Set(['kind', 'name', 'metadata']);

class EntryReader {
  readonly entries: ParsedEntry[] = [];
  readonly warnings: string[] = [];
  readonly problems: string[] = [];

  constructor(private readonly ns: NamespaceContent) {}

  #identity(kind: Tree | undefined, name: Tree | undefined, path: string): { kind: string; name: string } | undefined {
    if (typeof kind !== 'string') this.problems.push(`${path}.kind: expected a string`);
    else if (kindProblem(kind) !== undefined) this.problems.push(`${path}.kind: ${kindProblem(kind)}`);
    if (typeof name !== 'string') this.problems.push(`${path}.name: expected a string`);
    else if (name === '') this.problems.push(`${path}.name: empty name`);
    return typeof kind === 'string' && typeof name === 'string' && kindProblem(kind) === undefined && name !== '' ? { kind, name } : undefined;
  }

  block(kind: string, name: string, block: Tree | undefined, path: string): void {
    if (block === null || block === undefined) return;
    if (!isTreeMap(block)) {
      this.problems.push(`${path}: expected a map of metadata`);
      return;
    }
    for (const [metadataKey, value] of block) {
      if (metadataKey === '') this.problems.push(`${path}: empty metadata key`);
      else if (typeof value !== 'string' && value !== null) this.problems.push(`${path}.${metadataKey}: expected a value`);
      else this.entries.push({ kind, name, metadataKey, value: value ?? '' });
    }
  }

  list(items: readonly Tree[]): void {
    items.forEach((item, index) => {
      const path = `[${index}]`;
      if (!isTreeMap(item)) {
        this.problems.push(`${path}: expected {kind, name, metadata}`);
        return;
      }
      const identity = this.#identity(item.get('kind'), item.get('name'), path);
      if (identity === undefined) return;
      const extra = [...item.keys()].filter((field) => !LIST_ITEM_FIELDS.has(field));
      if (extra.length > 0) this.warnings.push(`${this.ns.name}: entry ${index} (${identity.kind}/${identity.name}): ignored field(s) ${extra.join(', ')}`);
      this.block(identity.kind, identity.name, item.get('metadata'), `${path}.metadata`);
    });
  }

  nested(kinds: ReadonlyMap<string, Tree>): void {
    for (const [kind, names] of kinds) {
      const problem = kindProblem(kind);
      if (problem !== undefined) {
        this.problems.push(`${kind}: ${problem}`);
        continue;
      }
      if (names === null) continue;
      if (!isTreeMap(names)) {
        this.problems.push(`${kind}: expected a map of name → metadata`);
        continue;
      }
      for (const [name, block] of names) {
        if (name === '') this.problems.push(`${kind}: empty name`);
        else this.block(kind, name, block, `${kind}.${name}`);
      }
    }
  }
}

function treeEntries(ns: NamespaceContent, tree: Tree): RawEntries {
  const reader = new EntryReader(ns);
  if (Array.isArray(tree)) reader.list(tree);
  else if (tree !== null && isTreeMap(tree)) reader.nested(tree);
  else if (tree !== null) reader.problems.push('expected a list of components or a map of kind → name → metadata');
  return reader.problems.length > 0
    ? { entries: [], warnings: [], problems: reader.problems }
    : { entries: reader.entries, warnings: reader.warnings, problems: [] };
}

/** `format` must be json or yaml. Empty content means the namespace holds no components. */
export function structuredEntries(ns: NamespaceContent): RawEntries {
  const text = Object.hasOwn(ns.configurations, 'content') ? ns.configurations['content'] : undefined;
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
    return { entries: [], warnings: [], problems: [`cannot read the ${ns.format} content: ${errorMessage(error)}`] };
  }
  if (conversion.problems.length > 0) return { entries: [], warnings: [], problems: conversion.problems };
  return treeEntries(ns, tree);
}
