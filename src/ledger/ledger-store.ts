import { join } from 'node:path';
import { z } from 'zod';
import { errorMessage } from '../domain/errors.js';
import { hashComponent } from '../domain/hash.js';
import { ownRecord } from '../domain/own-record.js';
import { EMPTY_LEDGER, type LedgerEntry, type LedgerState } from '../domain/ledger.js';
import { holdsSecrets, maskMetadata } from '../domain/masking.js';
import type { Logger } from '../observability/logger.js';
import type { AgentMetrics } from '../observability/metrics.js';
import { readStateFile, setAside, StateEntryError, writeStateFile } from '../storage/state-dir.js';

const ledgerSchema = z.object({
  version: z.literal(1),
  // ownRecord: a component or metadata key named `__proto__` is kept, as the mapper keeps it.
  components: ownRecord(
    z.object({
      kind: z.string().min(1),
      name: z.string().min(1),
      metadata: ownRecord(z.string()),
      hash: z.string(),
      releaseKeys: z.array(z.string()),
      appliedAt: z.string(),
      status: z.enum(['applied', 'removed']),
      masked: z.literal(true).optional(),
    }),
  ),
});

/**
 * The stored hash is derived from kind, name and metadata, which the ledger also stores: it is
 * computed again, so that a ledger written under an earlier hash format still matches the
 * configurations it holds (otherwise `diff` would show every component as changed, with no key
 * differing, after an upgrade). A masked entry keeps its stored hash: its metadata is not what
 * was pushed.
 */
function withCurrentHashes(ledger: LedgerState): LedgerState {
  const components: Record<string, LedgerEntry> = {};
  for (const [id, entry] of Object.entries(ledger.components)) {
    Object.defineProperty(components, id, { value: entry.masked ? entry : { ...entry, hash: hashComponent(entry) }, enumerable: true, writable: true, configurable: true });
  }
  return { version: ledger.version, components };
}

/** What goes on disk: with `cacheSecrets` off, the secret values of every entry masked. */
function storedForm(state: LedgerState, cacheSecrets: boolean): LedgerState {
  if (cacheSecrets) return state;
  const components: Record<string, LedgerEntry> = {};
  for (const [id, entry] of Object.entries(state.components)) {
    const stored = entry.masked || !holdsSecrets(entry.metadata) ? entry : { ...entry, metadata: maskMetadata(entry.metadata), masked: true as const };
    Object.defineProperty(components, id, { value: stored, enumerable: true, writable: true, configurable: true });
  }
  return { version: state.version, components };
}

export interface LedgerStoreOptions {
  /** false (`--cache-secrets=false`): secret values are masked in the file. Default true. */
  readonly cacheSecrets?: boolean;
  /** Counts failed writes (`state_write_failures_total{file="ledger"}`) where there is a registry. */
  readonly metrics?: Pick<AgentMetrics, 'stateWriteFailures'>;
}

/**
 * `<state-dir>/ledger.json`: what the sidecar was last successfully given. Writes are
 * coalesced (the latest state wins) and serialized, so a burst of applies costs one or two
 * writes and never two writers race on the temp file.
 */
export class LedgerStore {
  readonly path: string;
  private readonly stateDir: string;
  private pending: LedgerState | undefined;
  private writing: Promise<void> | undefined;
  private failure: string | undefined;

  constructor(
    stateDir: string,
    private readonly logger: Logger,
    private readonly options: LedgerStoreOptions = {},
  ) {
    this.stateDir = stateDir;
    this.path = join(stateDir, 'ledger.json');
  }

  /**
   * The recorded state; an empty one if there is none. A corrupt ledger, or an entry of the wrong type
   * where it should be (a directory, a symbolic link), is set aside with one warning, not fatal;
   * `readOnly` (dry runs, which change nothing on disk) leaves it where it is.
   */
  async load(options: { readOnly?: boolean } = {}): Promise<LedgerState> {
    try {
      const text = await readStateFile(this.path, { root: this.stateDir });
      if (text === undefined) return EMPTY_LEDGER;
      return deepFreeze(withCurrentHashes(ledgerSchema.parse(JSON.parse(text))));
    } catch (error) {
      if (!(error instanceof StateEntryError || error instanceof SyntaxError || error instanceof z.ZodError)) throw error;
      if (options.readOnly) {
        this.logger.warn('ledger is unreadable; compared as empty (apply or run will set it aside)', { path: this.path, error: unreadableBecause(error) });
        return EMPTY_LEDGER;
      }
      const aside = await setAside(this.path);
      this.logger.warn('ledger is unreadable; set aside and rebuilt from the next full push', {
        path: this.path,
        setAside: aside,
        error: unreadableBecause(error),
      });
      return EMPTY_LEDGER;
    }
  }

  /** Records `state` soon; returns at once. `flush()` waits for it to be on disk. */
  save(state: LedgerState): void {
    this.pending = state;
    this.writing ??= this.writeLoop();
  }

  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /** Why the last write failed; undefined once a write succeeds. */
  get writeError(): string | undefined {
    return this.failure;
  }

  private async writeLoop(): Promise<void> {
    try {
      while (this.pending) {
        const state = this.pending;
        this.pending = undefined;
        try {
          const stored = storedForm(state, this.options.cacheSecrets ?? true);
          await writeStateFile(this.path, `${JSON.stringify(stored, null, 2)}\n`, { root: this.stateDir });
          if (this.failure !== undefined) this.logger.info('ledger written again', { path: this.path });
          this.failure = undefined;
        } catch (error) {
          this.options.metrics?.stateWriteFailures.inc({ file: 'ledger' });
          // The in-memory state stays right; the next save tries again. One line per streak of failures, not per write.
          if (this.failure === undefined) {
            this.logger.error('could not write the ledger; the agent keeps pushing and tries again on the next change', {
              path: this.path,
              error: errorMessage(error),
            });
          }
          this.failure = errorMessage(error);
        }
      }
    } finally {
      this.writing = undefined;
    }
  }
}

/**
 * Why a ledger cannot be used, without its content: JSON.parse quotes the text it choked on,
 * which may be a secret or, through a planted link, another file's first bytes.
 */
function unreadableBecause(error: StateEntryError | SyntaxError | z.ZodError): string {
  if (error instanceof SyntaxError) return 'not valid JSON';
  if (error instanceof z.ZodError) return `not a ledger: ${error.issues.map((issue) => `${issue.path.join('.') || '(top)'}: ${issue.message}`).join('; ')}`;
  return error.message;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
