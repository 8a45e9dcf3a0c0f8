import type { CompletionGroupRecord, NewCompletionGroup, OperationRecord } from './operation-record.ts';
import { rowToCompletionGroup, rowToRecord } from './record-mapping.ts';
import type { Statements } from './sqlite-statements.ts';

/** How the store runs a statement: a read as its own transaction, a write joining the group commit. */
export interface StoreAccess {
  sql: Statements;
  now: () => number;
  run: <T>(what: string, run: () => T) => T;
  write: <T>(what: string, run: () => T) => T;
}

/**
 * The completion groups (one background task for a set of operations) and notification batches of
 * SqliteOperationStore: rows of their own, read and written through the store's access rules.
 */
export class SqliteCompletionGroups {
  readonly #access: StoreAccess;

  constructor(access: StoreAccess) {
    this.#access = access;
  }

  create(group: NewCompletionGroup): void {
    const { sql, now, write } = this.#access;
    write('createCompletionGroup', () =>
      sql.insertCompletionGroup.run({
        id: group.id,
        appId: group.appId,
        taskJson: JSON.stringify(group.task),
        now: now(),
      }),
    );
  }

  get(id: string): CompletionGroupRecord | undefined {
    const row = this.#access.run('getCompletionGroup', () => this.#access.sql.selectCompletionGroup.get(id));
    return row === undefined ? undefined : rowToCompletionGroup(row);
  }

  enable(id: string): boolean {
    const { sql, write } = this.#access;
    return write('enableCompletionGroup', () => sql.enableCompletionGroup.run(id).changes > 0);
  }

  listPending(): CompletionGroupRecord[] {
    const { sql, run } = this.#access;
    return run('listPendingCompletionGroups', () => sql.listPendingCompletionGroups.all().map(rowToCompletionGroup));
  }

  listMembers(id: string): OperationRecord[] {
    const { sql, run } = this.#access;
    return run('listCompletionGroupMembers', () => sql.listCompletionGroupMembers.all(id)).map(rowToRecord);
  }

  markFired(id: string): boolean {
    const { sql, now, write } = this.#access;
    return write('markCompletionGroupFired', () => sql.markCompletionGroupFired.run({ id, now: now() }).changes > 0);
  }

  listBatch(batchId: string): OperationRecord[] {
    const { sql, run } = this.#access;
    return run('listNotificationBatch', () => sql.listNotificationBatch.all(batchId)).map(rowToRecord);
  }

  markBatchNotified(batchId: string): boolean {
    const { sql, now, write } = this.#access;
    return write('markBatchNotified', () => sql.markBatchNotified.run({ batchId, now: now() }).changes > 0);
  }
}
