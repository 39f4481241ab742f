import type { ComponentId } from '../domain/component.js';
import { EMPTY_LEDGER, type LedgerState } from '../domain/ledger.js';
import type { PushOutcome } from '../push/push-request.js';
import { recordAppliedAll, recordRemoved, type AppliedComponent } from './ledger-updates.js';
import type { LedgerStore } from './ledger-store.js';

/**
 * The ledger as a listener of push outcomes: it records what the sidecar accepted (and the
 * components marked removed) and has the store write it. Applies are folded in once per
 * event-loop turn, not one by one, so a release of hundreds of components costs one write.
 */
export class LedgerRecorder {
  private ledger: LedgerState = EMPTY_LEDGER;
  private batch: AppliedComponent[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private closed = false;

  constructor(private readonly store: LedgerStore) {}

  async load(): Promise<void> {
    this.ledger = await this.store.load();
  }

  get state(): LedgerState {
    return this.ledger;
  }

  /** Why the last write failed, while writes keep failing. */
  get writeError(): string | undefined {
    return this.store.writeError;
  }

  onOutcome(outcome: PushOutcome): void {
    if (this.closed || outcome.result !== 'applied') return;
    this.batch.push({ component: outcome.component, appliedAt: new Date(outcome.finishedAt).toISOString() });
    this.scheduled ??= setImmediate(() => this.settle());
  }

  /** Layotto cannot unload a component: its entry is kept and marked removed. */
  markRemoved(ids: readonly ComponentId[]): void {
    if (this.closed || ids.length === 0) return;
    let next = this.ledger;
    for (const id of ids) next = recordRemoved(next, id);
    this.commit(next);
  }

  /** Records what is batched, waits for the file, and ignores every outcome after that. */
  async close(): Promise<void> {
    this.settle();
    this.closed = true;
    await this.store.flush();
  }

  private settle(): void {
    clearImmediate(this.scheduled);
    this.scheduled = undefined;
    if (this.batch.length === 0) return;
    const applied = this.batch;
    this.batch = [];
    this.commit(recordAppliedAll(this.ledger, applied));
  }

  private commit(next: LedgerState): void {
    if (next === this.ledger) return;
    this.ledger = next;
    this.store.save(next);
  }
}
