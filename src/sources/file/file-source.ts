import { resolve } from 'node:path';
import { errorMessage } from '../../domain/errors.js';
import { freezeSnapshot, snapshotRevision, type NamespaceContent, type SourceSnapshot } from '../../domain/snapshot.js';
import type { Logger } from '../../observability/logger.js';
import type { Source } from '../source.js';
import { ChangeTrigger } from './change-trigger.js';
import { DirectoryWatchers } from './directory-watchers.js';
import { FILE_SOURCE_ID, readPath, type PathContent } from './read-path.js';

export interface FileSourceOptions {
  /** Files or directories (mounted ConfigMaps), lowest priority first; a directory's files rank by name. */
  readonly paths: readonly string[];
  readonly logger: Logger;
  /** Quiet time after a filesystem event before re-reading (default 100 ms). */
  readonly debounceMs?: number;
  /** Longest delay of a re-read under a continuous stream of events (default 1 s). */
  readonly maxWaitMs?: number;
  /** Re-read interval while a path is missing or unreadable (default 1 s). */
  readonly retryMs?: number;
  /** Safety-net re-read for events the OS did not deliver (default 30 s). */
  readonly pollMs?: number;
}

/**
 * Configuration from local files. A path that disappears or cannot be read keeps its last good
 * content: a ConfigMap being remounted or a half-written file must not look like every key
 * of it being deleted.
 */
export class FileSource implements Source {
  readonly id = FILE_SOURCE_ID;
  private readonly paths: readonly string[];
  private readonly logger: Logger;
  private readonly debounceMs: number;
  private readonly maxWaitMs: number;
  private readonly retryMs: number;
  private readonly pollMs: number;
  /** Unknown-extension files already logged: a directory is re-read often, the log line is wanted once. */
  private readonly reportedSkips = new Set<string>();

  constructor(options: FileSourceOptions) {
    this.paths = options.paths.map((path) => resolve(path));
    this.logger = options.logger;
    this.debounceMs = options.debounceMs ?? 100;
    this.maxWaitMs = options.maxWaitMs ?? 1000;
    this.retryMs = options.retryMs ?? 1000;
    this.pollMs = options.pollMs ?? 30_000;
  }

  private reportSkipped(content: PathContent): void {
    for (const path of content.skipped) {
      if (this.reportedSkips.has(path)) continue;
      this.reportedSkips.add(path);
      this.logger.info('ignoring file with an unknown extension', { path });
    }
  }

  private snapshot(contents: readonly PathContent[], observedAt: number): SourceSnapshot {
    const namespaces: NamespaceContent[] = contents.flatMap((content) => content.namespaces);
    return freezeSnapshot({ sourceId: this.id, revision: snapshotRevision(namespaces), namespaces, observedAt });
  }

  /** Throws SourceError for a missing or unreadable path, MappingError for an unparsable properties file. */
  async load(signal?: AbortSignal): Promise<SourceSnapshot> {
    const observedAt = Date.now();
    const contents: PathContent[] = [];
    for (const path of this.paths) {
      signal?.throwIfAborted();
      const content = await readPath(path);
      this.reportSkipped(content);
      contents.push(content);
    }
    return this.snapshot(contents, observedAt);
  }

  async watch(listener: (snapshot: SourceSnapshot) => void, signal: AbortSignal): Promise<void> {
    const trigger = new ChangeTrigger(this.debounceMs, this.maxWaitMs);
    const watchers = new DirectoryWatchers(() => trigger.poke(), this.logger);
    const lastGood = new Map<string, PathContent>();
    const failing = new Set<string>();
    let lastRevision: string | undefined;
    try {
      while (!signal.aborted) {
        let retry = false;
        try {
          const observedAt = Date.now();
          retry = !(await this.readAll(lastGood, failing));
          if (signal.aborted) break;
          await watchers.sync(this.paths);
          if (lastGood.size === this.paths.length) {
            const snapshot = this.snapshot(this.paths.map((path) => lastGood.get(path)!), observedAt);
            if (snapshot.revision !== lastRevision) {
              lastRevision = snapshot.revision;
              this.emit(listener, snapshot);
            } else {
              this.logger.debug('file source re-read; nothing changed', { revision: lastRevision });
            }
          }
        } catch (error) {
          retry = true;
          this.logger.error('file source scan failed', { error: errorMessage(error) });
        }
        await trigger.wait(retry ? this.retryMs : this.pollMs, signal);
      }
    } finally {
      trigger.cancel();
      watchers.closeAll();
    }
  }

  /** Whether every path could be read this time. */
  private async readAll(lastGood: Map<string, PathContent>, failing: Set<string>): Promise<boolean> {
    for (const path of this.paths) {
      try {
        const content = await readPath(path);
        this.reportSkipped(content);
        lastGood.set(path, content);
        if (failing.delete(path)) this.logger.info('file source path readable again', { path });
      } catch (error) {
        if (!failing.has(path)) {
          failing.add(path);
          const kept = lastGood.has(path) ? 'keeping its last good content' : 'waiting for it';
          this.logger.warn(`file source path cannot be read; ${kept}`, { path, error: errorMessage(error) });
        }
      }
    }
    return failing.size === 0;
  }

  private emit(listener: (snapshot: SourceSnapshot) => void, snapshot: SourceSnapshot): void {
    this.logger.debug('file source changed', { revision: snapshot.revision, namespaces: snapshot.namespaces.length });
    try {
      listener(snapshot);
    } catch (error) {
      this.logger.error('file source listener failed', { error: errorMessage(error) });
    }
  }
}
