import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errorMessage } from '../../domain/errors.js';
import type { Logger } from '../../observability/logger.js';

interface Watched {
  readonly watcher: FSWatcher;
  /** The directory's inode when the watch began: a directory removed and re-created needs a new watch. */
  readonly inode: number;
}

/**
 * One fs.watch per directory that holds a configured path. A directory, not a file, is watched
 * because a ConfigMap update swaps the `..data` symlink and editors replace files by rename:
 * a watch on the file itself would keep following the old inode.
 */
export class DirectoryWatchers {
  private readonly watched = new Map<string, Watched>();

  constructor(
    private readonly onEvent: () => void,
    private readonly logger: Logger,
  ) {}

  /** The directory to watch for `path`: itself when it is a directory, else its parent (also while it is missing). */
  private static async targetOf(path: string): Promise<string> {
    try {
      return (await stat(path)).isDirectory() ? path : dirname(path);
    } catch {
      return dirname(path);
    }
  }

  /** (Re)establishes the watches for `paths`; drops those on directories that vanished or were replaced. */
  async sync(paths: readonly string[]): Promise<void> {
    const targets = new Set(await Promise.all(paths.map((path) => DirectoryWatchers.targetOf(path))));
    for (const [dir, entry] of this.watched) {
      const inode = await stat(dir).then((info) => info.ino, () => undefined);
      if (!targets.has(dir) || inode !== entry.inode) this.unwatch(dir);
    }
    for (const dir of targets) {
      if (this.watched.has(dir)) continue;
      try {
        const inode = (await stat(dir)).ino;
        const watcher = watch(dir, () => this.onEvent());
        watcher.on('error', (error) => {
          this.logger.debug('file watch failed; watching again after the next read', { directory: dir, error: errorMessage(error) });
          this.unwatch(dir);
          this.onEvent();
        });
        this.watched.set(dir, { watcher, inode });
      } catch (error) {
        this.logger.debug('cannot watch directory yet; polling', { directory: dir, error: errorMessage(error) });
      }
    }
  }

  private unwatch(dir: string): void {
    this.watched.get(dir)?.watcher.close();
    this.watched.delete(dir);
  }

  closeAll(): void {
    for (const dir of [...this.watched.keys()]) this.unwatch(dir);
  }
}
