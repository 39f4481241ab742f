import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { AgentError } from '../domain/errors.js';

/**
 * The state dir (`--state-dir`: the ledger and the Apollo cache, secrets included) is the
 * agent's own. Whoever can write in it can make the agent read or write elsewhere, so:
 * - the directory must belong to the agent's user and be writable by nobody else
 *   (`checkStateDir`); the agent creates it 0700 when it first writes in it;
 * - nothing under it is followed: every directory on the way to a file is checked with lstat,
 *   files are opened with O_NOFOLLOW, and an entry of the wrong type (a directory where a file
 *   should be, a FIFO) is reported, never read or written through;
 * - files are written 0600, atomically (temp file, fsync, rename, fsync of the directory).
 */

/** The state dir as a whole cannot be used: one line saying why and what to do. */
export class StateDirError extends AgentError {
  override readonly name = 'StateDirError';
}

/** One entry under the state dir is not what it should be (a symbolic link, a directory, a FIFO). */
export class StateEntryError extends AgentError {
  override readonly name = 'StateEntryError';
  constructor(
    readonly path: string,
    readonly found: string,
  ) {
    super(`${path} is ${found}; the agent does not follow or replace it`);
  }
}

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

function describe(stats: Stats): string {
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isBlockDevice() || stats.isCharacterDevice()) return 'a device';
  return 'a regular file';
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

async function lstatOrMissing(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/**
 * Checks the state dir before anything in it is read; changes nothing. A missing one is fine:
 * the first write creates it 0700.
 */
export async function checkStateDir(dir: string): Promise<void> {
  const stats = await lstatOrMissing(dir);
  if (!stats) return;
  if (stats.isSymbolicLink()) {
    throw new StateDirError(`state dir ${dir} is a symbolic link: give the directory it points to as --state-dir`);
  }
  if (!stats.isDirectory()) throw new StateDirError(`state dir ${dir} is ${describe(stats)}, not a directory: give a directory as --state-dir`);
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid !== uid) {
    throw new StateDirError(
      `state dir ${dir} belongs to uid ${stats.uid}, not to this agent (uid ${uid}): give the agent a directory of its own as --state-dir`,
    );
  }
  if (uid !== undefined && (stats.mode & 0o022) !== 0) {
    const who = (stats.mode & 0o020) !== 0 && (stats.mode & 0o002) !== 0 ? 'group and others' : (stats.mode & 0o020) !== 0 ? 'group' : 'others';
    const mode = (stats.mode & 0o7777).toString(8).padStart(4, '0');
    throw new StateDirError(
      `state dir ${dir} is writable by ${who} (mode ${mode}), who could make the agent read or write elsewhere: run chmod 700 ${dir}, or give a --state-dir the agent creates`,
    );
  }
}

/**
 * Walks from `root` (included) down to `dir`, refusing a symbolic link or a non-directory on
 * the way; `create` makes what is missing (0700). Returns false if something is missing.
 */
async function walkDirectories(root: string, dir: string, create: boolean): Promise<boolean> {
  const below = relative(root, dir);
  if (below.startsWith('..')) throw new Error(`${dir} is not under ${root}`);
  let current = root;
  for (const part of ['', ...(below === '' ? [] : below.split(sep))]) {
    current = part === '' ? current : join(current, part);
    let stats = await lstatOrMissing(current);
    if (!stats) {
      if (!create) return false;
      if (current === root) await mkdir(root, { recursive: true, mode: DIR_MODE });
      else {
        try {
          await mkdir(current, { mode: DIR_MODE });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
      }
      stats = await lstat(current);
    }
    if (!stats.isDirectory()) throw new StateEntryError(current, describe(stats));
  }
  return true;
}

/**
 * The content of a file under `root`, or undefined if it does not exist. Throws
 * StateEntryError when it, or a directory on the way, is a symbolic link or of the wrong type.
 */
export async function readStateFile(path: string, options: { root: string }): Promise<string | undefined> {
  if (!(await walkDirectories(options.root, dirname(path), false))) return undefined;
  let handle;
  try {
    // O_NONBLOCK: a FIFO planted where the file should be must not hang the open.
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if (isMissing(error)) return undefined;
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new StateEntryError(path, 'a symbolic link');
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new StateEntryError(path, describe(stats));
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * Replaces the file at `path` under `root` with `content` so that a crash at any moment leaves
 * either the old file or the new one, never a torn one: a temp file in the same directory
 * (created exclusively, never through a link), fsync, rename over the target, fsync of the
 * directory. Missing directories are made 0700; a link or a non-directory on the way is refused.
 */
export async function writeStateFile(path: string, content: string, options: { root: string }): Promise<void> {
  const dir = dirname(path);
  await walkDirectories(options.root, dir, true);
  const existing = await lstatOrMissing(path);
  if (existing && !existing.isFile()) throw new StateEntryError(path, describe(existing));
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    const handle = await open(temp, flags, FILE_MODE);
    try {
      await handle.writeFile(content, 'utf8');
      await handle.chmod(FILE_MODE);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(dir);
}

/** Removes the file at `path` under `root` if it is there, never through a link on the way. */
export async function removeStateFile(path: string, options: { root: string }): Promise<void> {
  if (!(await walkDirectories(options.root, dirname(path), false))) return;
  await rm(path, { force: true });
}

/** Moves an unusable entry (corrupt file, link, directory) out of the way; returns where it went. */
export async function setAside(path: string): Promise<string> {
  const aside = `${path}.corrupt-${Date.now()}`;
  await rename(path, aside);
  return aside;
}

async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic there.
  }
}
