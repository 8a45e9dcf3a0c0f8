import { TransferError } from '../core/errors.ts';
import type { CompletionGroupRecord, NewCompletionGroup } from './operation-record.ts';

/**
 * The completion groups and notified batches of the in-memory store, with the SQLite store's semantics
 * (sqlite-completion-groups.ts; the store contract runs the same cases against both). Records are
 * copied in and out. The store checks that it is open before each call.
 */
export class MemoryCompletionGroups {
  readonly #groups = new Map<string, CompletionGroupRecord>();
  readonly #notifiedBatches = new Set<string>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  create(group: NewCompletionGroup): void {
    if (this.#groups.has(group.id)) {
      throw new TransferError('BT_ERR_STORE', `completion group ${group.id} already exists`);
    }
    this.#groups.set(group.id, { ...structuredClone(group), enabled: false, firedAtMs: null });
  }

  get(id: string): CompletionGroupRecord | undefined {
    const group = this.#groups.get(id);
    return group === undefined ? undefined : structuredClone(group);
  }

  /** False when there is no such group or it was enabled already. */
  enable(id: string): boolean {
    const group = this.#groups.get(id);
    if (group === undefined || group.enabled) return false;
    group.enabled = true;
    return true;
  }

  listPending(): CompletionGroupRecord[] {
    return [...this.#groups.values()]
      .filter((group) => group.enabled && group.firedAtMs === null)
      .map((group) => structuredClone(group));
  }

  /** True for the first call with `batchId` only: one notification per batch. */
  markBatchNotified(batchId: string): boolean {
    if (this.#notifiedBatches.has(batchId)) return false;
    this.#notifiedBatches.add(batchId);
    return true;
  }

  /** True for the first call with an existing group only: its task runs once. */
  markFired(id: string): boolean {
    const group = this.#groups.get(id);
    if (group === undefined || group.firedAtMs !== null) return false;
    group.firedAtMs = this.#now();
    return true;
  }

  clear(): void {
    this.#groups.clear();
    this.#notifiedBatches.clear();
  }
}
