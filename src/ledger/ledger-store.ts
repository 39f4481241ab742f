import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { errorMessage } from '../domain/errors.js';
import { hashComponent } from '../domain/hash.js';
import { ownRecord } from '../domain/own-record.js';
import { EMPTY_LEDGER, type LedgerEntry, type LedgerState } from '../domain/ledger.js';
import type { Logger } from '../observability/logger.js';
import { writeFileAtomic } from '../storage/atomic-file.js';

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
    }),
  ),
});

/**
 * The stored hash is derived from kind, name and metadata, which the ledger also stores: it is
 * computed again, so that a ledger written under an earlier hash format still matches the
 * configurations it holds (otherwise `diff` would show every component as changed, with no key
 * differing, after an upgrade).
 */
function withCurrentHashes(ledger: LedgerState): LedgerState {
  const components: Record<string, LedgerEntry> = {};
  for (const [id, entry] of Object.entries(ledger.components)) {
    Object.defineProperty(components, id, { value: { ...entry, hash: hashComponent(entry) }, enumerable: true, writable: true, configurable: true });
  }
  return { version: ledger.version, components };
}

/**
 * `<state-dir>/ledger.json`: what the sidecar was last successfully given. Writes are
 * coalesced (the latest state wins) and serialized, so a burst of applies costs one or two
 * writes and never two writers race on the temp file.
 */
export class LedgerStore {
  readonly path: string;
  private pending: LedgerState | undefined;
  private writing: Promise<void> | undefined;

  constructor(
    stateDir: string,
    private readonly logger: Logger,
  ) {
    this.path = join(stateDir, 'ledger.json');
  }

  /**
   * The recorded state; an empty one if there is none. A corrupt file is set aside, not fatal;
   * `readOnly` (dry runs, which change nothing on disk) leaves it where it is.
   */
  async load(options: { readOnly?: boolean } = {}): Promise<LedgerState> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY_LEDGER;
      throw error;
    }
    try {
      return deepFreeze(withCurrentHashes(ledgerSchema.parse(JSON.parse(text))));
    } catch (error) {
      if (options.readOnly) {
        this.logger.warn('ledger is unreadable; compared as empty (apply or run will set it aside)', { path: this.path, error: errorMessage(error) });
        return EMPTY_LEDGER;
      }
      const aside = `${this.path}.corrupt-${Date.now()}`;
      await rename(this.path, aside);
      this.logger.warn('ledger is unreadable; set aside and rebuilt from the next full push', {
        path: this.path,
        setAside: aside,
        error: errorMessage(error),
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

  private async writeLoop(): Promise<void> {
    try {
      while (this.pending) {
        const state = this.pending;
        this.pending = undefined;
        try {
          await writeFileAtomic(this.path, `${JSON.stringify(state, null, 2)}\n`);
        } catch (error) {
          // The in-memory state stays right; the next save tries again.
          this.logger.error('could not write the ledger', { path: this.path, error: errorMessage(error) });
        }
      }
    } finally {
      this.writing = undefined;
    }
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
