import { resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { SourceError, errorMessage } from '../../domain/errors.js';
import { freezeSnapshot, snapshotRevision, type NamespaceContent, type SourceSnapshot } from '../../domain/snapshot.js';
import type { Logger } from '../../observability/logger.js';
import type { Source, SourceNamespaceStatus } from '../source.js';
import { ChangeTrigger } from './change-trigger.js';
import { DirectoryWatchers } from './directory-watchers.js';
import { FILE_SOURCE_ID, fileRelease, readPath, type FileText, type PathContent } from './read-path.js';

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
  /**
   * A file written less than this long ago is used only once a second read this long after
   * gives the same text (default 1 s): a file rewritten in place is never taken half-written.
   */
  readonly settleMs?: number;
}

/** How many times `load` reads a file that keeps changing before it gives up. */
const LOAD_SETTLE_TRIES = 5;

interface PathState {
  content?: PathContent;
  readAt?: number;
  error?: string;
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
  private readonly settleMs: number;
  /** Unknown-extension files already logged: a directory is re-read often, the log line is wanted once. */
  private readonly reportedSkips = new Set<string>();
  /** Per file, the text of its last read: a recent file is used once two reads agree. */
  private readonly lastRead = new Map<string, string>();
  /** Per file, its release as last built, reused while the text is the same. */
  private readonly releases = new Map<string, { readonly text: string; readonly release: NamespaceContent }>();
  private readonly states = new Map<string, PathState>();

  constructor(options: FileSourceOptions) {
    this.paths = options.paths.map((path) => resolve(path));
    this.logger = options.logger;
    this.debounceMs = options.debounceMs ?? 100;
    this.maxWaitMs = options.maxWaitMs ?? 1000;
    this.retryMs = options.retryMs ?? 1000;
    this.pollMs = options.pollMs ?? 30_000;
    this.settleMs = options.settleMs ?? 1000;
    for (const path of this.paths) this.states.set(path, {});
  }

  private reportSkipped(content: PathContent): void {
    for (const path of content.skipped) {
      if (this.reportedSkips.has(path)) continue;
      this.reportedSkips.add(path);
      this.logger.info('ignoring file with an unknown extension', { path });
    }
  }

  /** The files still being written: written within settleMs and not read the same the time before. */
  private unsettled(content: PathContent, now: number): FileText[] {
    const unsettled = content.files.filter((file) => now - file.mtimeMs < this.settleMs && this.lastRead.get(file.path) !== file.text);
    for (const file of content.files) this.lastRead.set(file.path, file.text);
    return unsettled;
  }

  private release(file: FileText): NamespaceContent {
    const known = this.releases.get(file.path);
    if (known !== undefined && known.text === file.text) return known.release;
    const release = fileRelease(file);
    this.releases.set(file.path, { text: file.text, release });
    return release;
  }

  private snapshot(contents: readonly PathContent[], observedAt: number): SourceSnapshot {
    const namespaces = contents.flatMap((content) => content.files.map((file) => this.release(file)));
    return freezeSnapshot({ sourceId: this.id, revision: snapshotRevision(namespaces), namespaces, observedAt });
  }

  /** Throws SourceError for a missing or unreadable path, or a file that does not stop changing. */
  async load(signal?: AbortSignal): Promise<SourceSnapshot> {
    const observedAt = Date.now();
    const contents: PathContent[] = [];
    for (const path of this.paths) {
      signal?.throwIfAborted();
      let content = await readPath(path, signal);
      for (let tries = 1; this.unsettled(content, Date.now()).length > 0; tries += 1) {
        if (tries >= LOAD_SETTLE_TRIES) throw new SourceError(`${path} keeps changing; try again once it is written`, FILE_SOURCE_ID);
        // A timer that holds the process open: a one-shot command waits for the file, nothing else does.
        await delay(this.settleMs, undefined, { signal });
        content = await readPath(path, signal);
      }
      this.reportSkipped(content);
      contents.push(content);
    }
    return this.snapshot(contents, observedAt);
  }

  async watch(listener: (snapshot: SourceSnapshot) => void, signal: AbortSignal): Promise<void> {
    const trigger = new ChangeTrigger(this.debounceMs, this.maxWaitMs);
    const watchers = new DirectoryWatchers(() => trigger.poke(), this.logger);
    let lastRevision: string | undefined;
    try {
      while (!signal.aborted) {
        let wait = this.pollMs;
        try {
          const observedAt = Date.now();
          wait = await this.readAll(signal);
          if (signal.aborted) break;
          await watchers.sync(this.paths);
          const contents = this.paths.map((path) => this.states.get(path)?.content);
          if (contents.every((content) => content !== undefined)) {
            const snapshot = this.snapshot(contents, observedAt);
            if (snapshot.revision !== lastRevision) {
              lastRevision = snapshot.revision;
              this.emit(listener, snapshot);
            } else {
              this.logger.debug('file source re-read; nothing changed', { revision: lastRevision });
            }
          }
        } catch (error) {
          if (signal.aborted) break;
          wait = this.retryMs;
          this.logger.error('file source scan failed', { error: errorMessage(error) });
        }
        await trigger.wait(wait, signal);
      }
    } finally {
      trigger.cancel();
      watchers.closeAll();
    }
  }

  status(): readonly SourceNamespaceStatus[] {
    return this.paths.flatMap((path): SourceNamespaceStatus[] => {
      const state = this.states.get(path) ?? {};
      const failing = state.error !== undefined;
      const error = state.error !== undefined ? { error: state.error } : {};
      if (state.content === undefined) return [{ sourceId: this.id, namespace: path, failing, ...error, origin: 'none' }];
      return state.content.files.map((file) => ({
        sourceId: this.id,
        namespace: file.path,
        releaseKey: this.release(file).releaseKey,
        ...(state.readAt !== undefined ? { lastSuccessAt: state.readAt } : {}),
        failing,
        ...error,
        origin: 'file' as const,
      }));
    });
  }

  /** Reads every path; returns how long to wait before the next read. */
  private async readAll(signal: AbortSignal): Promise<number> {
    let wait = this.pollMs;
    for (const path of this.paths) {
      const state = this.states.get(path)!;
      try {
        const content = await readPath(path, signal);
        this.reportSkipped(content);
        const unsettled = this.unsettled(content, Date.now());
        if (unsettled.length > 0) {
          this.logger.debug('file written just now; reading it again before using it', { files: unsettled.map((file) => file.path) });
          wait = Math.min(wait, this.settleMs);
          continue;
        }
        state.content = content;
        state.readAt = Date.now();
        if (state.error !== undefined) this.logger.info('file source path readable again', { path });
        state.error = undefined;
      } catch (error) {
        if (signal.aborted) throw error;
        wait = Math.min(wait, this.retryMs);
        if (state.error === undefined) {
          const kept = state.content ? 'keeping its last good content' : 'waiting for it';
          this.logger.warn(`file source path cannot be read; ${kept}`, { path, error: errorMessage(error) });
        }
        state.error = errorMessage(error);
      }
    }
    return wait;
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
