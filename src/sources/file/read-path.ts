import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { MappingError, SourceError, errorMessage } from '../../domain/errors.js';
import { hashText } from '../../domain/hash.js';
import type { NamespaceContent, NamespaceFormat } from '../../domain/snapshot.js';
import { parseProperties, PropertiesSyntaxError } from '../properties-text.js';

const FORMATS: Readonly<Record<string, NamespaceFormat>> = {
  '.properties': 'properties',
  '.json': 'json',
  '.yaml': 'yaml',
  '.yml': 'yaml',
};

export const FILE_SOURCE_ID = 'file';

function formatOf(path: string): NamespaceFormat | undefined {
  return FORMATS[extname(path).toLowerCase()];
}

export interface PathContent {
  /** The path's files in priority order (a directory's entries by name). */
  readonly namespaces: readonly NamespaceContent[];
  /** Directory entries passed over because their extension means nothing to the agent. */
  readonly skipped: readonly string[];
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function readNamespace(path: string, format: NamespaceFormat): Promise<NamespaceContent> {
  const text = await readFile(path, 'utf8');
  let configurations: Record<string, string>;
  if (format === 'properties') {
    try {
      configurations = parseProperties(text);
    } catch (error) {
      if (error instanceof PropertiesSyntaxError) throw new MappingError(`cannot parse ${path}`, path, [error.message]);
      throw error;
    }
  } else {
    configurations = { content: text };
  }
  return { key: `file:${path}`, name: path, format, configurations, releaseKey: hashText(text), origin: 'file' };
}

/**
 * A directory is read like a mounted ConfigMap: hidden entries (`..data`, `..2024_01_01...`)
 * and subdirectories are the mount's machinery, and a key's symlink may dangle for a moment
 * while the kubelet cleans up after a swap, which means the key is gone.
 */
async function readDirectory(dir: string): Promise<PathContent> {
  const namespaces: NamespaceContent[] = [];
  const skipped: string[] = [];
  for (const entry of (await readdir(dir)).sort()) {
    if (entry.startsWith('.')) continue;
    const path = join(dir, entry);
    const format = formatOf(entry);
    if (!format) {
      skipped.push(path);
      continue;
    }
    try {
      if (!(await stat(path)).isFile()) continue;
      namespaces.push(await readNamespace(path, format));
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }
  return { namespaces, skipped };
}

/**
 * Reads one configured path (absolute). Throws SourceError when it is missing or unreadable,
 * MappingError when a properties file cannot be parsed.
 */
export async function readPath(path: string): Promise<PathContent> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) return await readDirectory(path);
    const format = formatOf(path);
    if (!format) throw new SourceError(`${path}: unknown extension; use .properties, .json, .yaml or .yml`, FILE_SOURCE_ID);
    return { namespaces: [await readNamespace(path, format)], skipped: [] };
  } catch (error) {
    if (error instanceof SourceError || error instanceof MappingError) throw error;
    throw new SourceError(`cannot read ${path}: ${errorMessage(error)}`, FILE_SOURCE_ID, { cause: error });
  }
}
