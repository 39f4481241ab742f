import { createHash } from 'node:crypto';
import type { ComponentConfig } from './component.js';

/**
 * Hash of what a push would carry. Keys are sorted so that the order in which sources
 * listed them never makes two identical configurations look different.
 */
export function hashComponent(config: ComponentConfig): string {
  const keys = Object.keys(config.metadata).sort();
  const canonical = JSON.stringify([config.kind, config.name, keys.map((k) => [k, config.metadata[k]])]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

export function hashText(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}
