import { constants } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { setImmediate } from 'node:timers/promises';
import { SourceError, errorMessage } from '../../domain/errors.js';
import { hashText } from '../../domain/hash.js';
import { namespaceRelease, type NamespaceContent, type NamespaceFormat } from '../../domain/snapshot.js';
import { parseProperties, PropertiesSyntaxError } from '../properties-text.js';

const FORMATS: Readonly<Record<string, NamespaceFormat>> = {
  '.properties': 'properties',
  '.json': 'json',
  '.yaml': 'yaml',
  '.yml': 'yaml',
};

export const FILE_SOURCE_ID = 'file';

/** The same cap as an Apollo body: a file is configuration, never a stream or a disk image. */
export const MAX_FILE_BYTES = 8 * 1024 * 1024;

/** How often a directory read hands the event loop back (so /healthz answers during a big merge). */
const YIELD_EVERY = 64;

function formatOf(path: string): NamespaceFormat | undefined {
  return Object.hasOwn(FORMATS, extname(path).toLowerCase()) ? FORMATS[extname(path).toLowerCase()] : undefined;
}

/** One file as read: its text and when it was last written. */
export interface FileText {
  readonly path: string;
  readonly format: NamespaceFormat;
  readonly text: string;
  readonly mtimeMs: number;
}

export interface PathContent {
  /** The path's files in priority order (a directory's entries by name). */
  readonly files: readonly FileText[];
  /** Directory entries passed over because their extension means nothing to the agent. */
  readonly skipped: readonly string[];
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Reads a regular file of at most MAX_FILE_BYTES. Opened non-blocking and checked on the open
 * descriptor, so a FIFO (which would block until a writer comes) or a device (`/dev/zero`,
 * endless) is refused without a single read, even when a symlink leads to it.
 */
async function readRegularFile(path: string, format: NamespaceFormat): Promise<FileText> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new SourceError(`${path} is not a regular file (a FIFO, socket or device); only regular files are read`, FILE_SOURCE_ID);
    if (info.size > MAX_FILE_BYTES) throw new SourceError(`${path} is ${info.size} bytes, over the limit of ${MAX_FILE_BYTES}`, FILE_SOURCE_ID);
    // Sized by the stat; a file that grows while read takes more chunks, up to one byte over the cap.
    const chunkBytes = Math.min(MAX_FILE_BYTES + 1, info.size + 1);
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(chunkBytes, MAX_FILE_BYTES + 1 - length));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, length);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      length += bytesRead;
      if (length > MAX_FILE_BYTES) throw new SourceError(`${path} grew over the limit of ${MAX_FILE_BYTES} bytes while read`, FILE_SOURCE_ID);
    }
    return { path, format, text: Buffer.concat(chunks, length).toString('utf8'), mtimeMs: info.mtimeMs };
  } finally {
    await handle.close();
  }
}

/**
 * A directory is read like a mounted ConfigMap: hidden entries (`..data`, `..2024_01_01...`)
 * and subdirectories are the mount's machinery, and a key's symlink may dangle for a moment
 * while the kubelet cleans up after a swap, which means the key is gone.
 */
async function readDirectory(dir: string, signal?: AbortSignal): Promise<PathContent> {
  const files: FileText[] = [];
  const skipped: string[] = [];
  const entries = (await readdir(dir)).sort();
  for (let index = 0; index < entries.length; index += 1) {
    signal?.throwIfAborted();
    if (index % YIELD_EVERY === YIELD_EVERY - 1) await setImmediate();
    const entry = entries[index]!;
    if (entry.startsWith('.')) continue;
    const path = join(dir, entry);
    const format = formatOf(entry);
    if (!format) {
      skipped.push(path);
      continue;
    }
    try {
      if ((await stat(path)).isDirectory()) continue;
      files.push(await readRegularFile(path, format));
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }
  return { files, skipped };
}

/** Reads one configured path (absolute). Throws SourceError when it is missing, unreadable or not a regular file. */
export async function readPath(path: string, signal?: AbortSignal): Promise<PathContent> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) return await readDirectory(path, signal);
    const format = formatOf(path);
    if (!format) throw new SourceError(`${path}: unknown extension; use .properties, .json, .yaml or .yml`, FILE_SOURCE_ID);
    return { files: [await readRegularFile(path, format)], skipped: [] };
  } catch (error) {
    if (error instanceof SourceError || signal?.aborted) throw error;
    throw new SourceError(`cannot read ${path}: ${errorMessage(error)}`, FILE_SOURCE_ID, { cause: error });
  }
}

/**
 * A file as a namespace. A properties file that cannot be decoded is still a release: one the
 * gate rejects, the same way as broken YAML, so one broken file never stops the others.
 */
export function fileRelease(file: FileText): NamespaceContent {
  let configurations: Record<string, string> = { content: file.text };
  let undecodable: string | undefined;
  if (file.format === 'properties') {
    try {
      configurations = parseProperties(file.text);
    } catch (error) {
      if (!(error instanceof PropertiesSyntaxError)) throw error;
      configurations = {};
      undecodable = `cannot parse ${file.path}: ${error.message}`;
    }
  }
  const contentHash = hashText(file.text);
  return namespaceRelease(
    {
      key: `file:${file.path}`,
      name: file.path,
      format: file.format,
      configurations,
      // The text's hash is a file's release key: files have no other.
      releaseKey: contentHash,
      origin: 'file',
      ...(undecodable !== undefined ? { undecodable } : {}),
    },
    contentHash,
  );
}
