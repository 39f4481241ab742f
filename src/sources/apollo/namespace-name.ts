import type { NamespaceFormat } from '../../domain/snapshot.js';

/** A namespace as the agent was told about it, and as it is asked for on the wire. */
export interface NamespaceName {
  /** As configured: keys snapshots (`apollo:<configured>`), logs and rules. */
  readonly configured: string;
  /** As sent to Apollo: a `.properties` suffix is stripped, every other suffix is kept. */
  readonly remote: string;
  readonly format: NamespaceFormat;
}

const SUFFIX_FORMATS: ReadonlyArray<readonly [string, NamespaceFormat]> = [
  ['.json', 'json'],
  ['.yaml', 'yaml'],
  ['.yml', 'yaml'],
  ['.xml', 'xml'],
  ['.txt', 'txt'],
];

/** Apollo's own rules (apollo-java `NamespaceUtil`, `ConfigFileFormat`): suffixes are case-insensitive. */
export function parseNamespaceName(configured: string): NamespaceName {
  const lower = configured.toLowerCase();
  if (lower.endsWith('.properties')) {
    return { configured, remote: configured.slice(0, -'.properties'.length), format: 'properties' };
  }
  for (const [suffix, format] of SUFFIX_FORMATS) {
    if (lower.endsWith(suffix)) return { configured, remote: configured, format };
  }
  return { configured, remote: configured, format: 'properties' };
}

/** The server matches namespaces case-insensitively, so must everything that compares them. */
export function sameNamespace(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
