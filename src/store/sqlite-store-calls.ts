import type Database from 'better-sqlite3';
import { GroupCommit } from './group-commit.ts';
import type { ListQueries } from './list-queries.ts';
import { storeError } from './open-database.ts';
import type { OperationRecord } from './operation-record.ts';
import { type OperationRow, rowToRecord } from './record-mapping.ts';
import { readUpdated, type Statements } from './sqlite-statements.ts';

/**
 * How each call of the SQLite store runs: a failure becomes BT_ERR_STORE naming the call, a write joins
 * the event-loop turn's transaction under group commit (or is its own transaction without it), and a
 * write to a row drops that row's kept listed text first, so no enumeration serves it stale.
 */
export class StoreCalls {
  readonly #sql: Statements;
  readonly #lists: ListQueries;
  readonly #group: GroupCommit | undefined;
  /** UPDATE then re-read, in one IMMEDIATE transaction (the write lock is taken up front: no upgrade races). */
  readonly #updateAndRead: Database.Transaction<
    (update: () => Database.RunResult, guid: string) => OperationRow | null
  >;
  readonly #insert: Database.Transaction<(row: Omit<OperationRow, 'seq'>) => OperationRow | undefined>;

  constructor(
    db: Database.Database,
    sql: Statements,
    lists: ListQueries,
    groupCommit: { onError: (error: unknown) => void } | undefined,
  ) {
    this.#sql = sql;
    this.#lists = lists;
    this.#group = groupCommit && new GroupCommit(db, groupCommit.onError);
    this.#updateAndRead = db.transaction((update: () => Database.RunResult, guid: string) =>
      readUpdated(sql, update(), guid),
    );
    this.#insert = db.transaction((row: Omit<OperationRow, 'seq'>) => {
      if (row.transferGroupName !== null && row.transferGroupBehavior !== null) {
        sql.ensureTransferGroup.run(row.appId, row.transferGroupName, row.transferGroupBehavior);
      }
      sql.insertOperation.run(row);
      return sql.selectOperation.get(row.guid);
    });
  }

  /** One statement outside an explicit transaction: SQLite runs it as its own (autocommit) transaction. */
  run<T>(what: string, run: () => T): T {
    try {
      return run();
    } catch (error) {
      throw storeError(`${what} failed`, error);
    }
  }

  /** A write, joining the turn's transaction with group commit. `guid`: the row it changes (its listed text goes). */
  write<T>(what: string, run: () => T, guid?: string): T {
    try {
      if (guid !== undefined) this.#lists.forget(guid);
      this.#group?.enter();
      return run();
    } catch (error) {
      throw storeError(`${what} failed`, error);
    }
  }

  /** An UPDATE of one row and the row as it now is; null when the UPDATE's guard matched nothing. */
  update(what: string, guid: string, update: () => Database.RunResult): OperationRecord | null {
    let row: OperationRow | null;
    try {
      this.#lists.forget(guid);
      // In the turn's transaction a failed UPDATE undoes only itself: no savepoint (two statements) needed.
      this.#group?.enter();
      row = this.#group ? readUpdated(this.#sql, update(), guid) : this.#updateAndRead.immediate(update, guid);
    } catch (error) {
      throw storeError(`${what} failed`, error);
    }
    return row === null ? null : rowToRecord(row);
  }

  /** Inserts a new row (and its transfer group) and reads it back; errors are the caller's to name. */
  insert(row: Omit<OperationRow, 'seq'>): OperationRow | undefined {
    this.#group?.enter();
    return this.#insert.immediate(row);
  }

  /** Commits the turn's open transaction, if any (before the database closes). */
  commitNow(): void {
    this.#group?.commit();
  }

  /** Runs `callback` once every write made so far is durable (at once without group commit). */
  afterCommit(callback: () => void): void {
    if (this.#group) this.#group.afterCommit(callback);
    else callback();
  }
}
