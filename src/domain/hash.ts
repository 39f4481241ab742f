import { hash } from 'node:crypto';
import type { ComponentConfig } from './component.js';

function digest(text: string): string {
  return hash('sha256', text, 'hex').slice(0, 32);
}

/**
 * Hash of what a push would carry, from the metadata's keys in code-unit order and their values
 * (`values[i]` belongs to `keys[i]`). Each string is framed by its length, so no two different
 * configurations share a canonical input. Lengths count UTF-16 units and the input is hashed as
 * UTF-8, where a lone surrogate becomes U+FFFD: two configurations that differ only there share a
 * hash, and their pushes are the same bytes too (src/sidecar/lifecycle-codec.ts writes a lone
 * surrogate as U+FFFD), so that never hides a change the sidecar would see.
 */
export function hashSortedMetadata(kind: string, name: string, keys: readonly string[], values: readonly string[]): string {
  let canonical = `${kind.length}:${kind}${name.length}:${name}`;
  for (let index = 0; index < keys.length; index += 1) {
    const key = keys[index]!;
    const value = values[index]!;
    canonical += `${key.length}:${key}${value.length}:${value}`;
  }
  return digest(canonical);
}

/**
 * Hash of any configuration. Keys are sorted so that the order in which sources listed them
 * never makes two identical configurations look different.
 */
export function hashComponent(config: ComponentConfig): string {
  // The default sort compares strings by UTF-16 code units.
  const keys = Object.keys(config.metadata).sort();
  return hashSortedMetadata(
    config.kind,
    config.name,
    keys,
    keys.map((key) => config.metadata[key]!),
  );
}

export function hashText(text: string): string {
  return digest(text);
}
