import type Database from 'better-sqlite3';

/**
 * Group commit for one better-sqlite3 connection: the first write of an event-loop turn opens one
 * IMMEDIATE transaction, every later write of that turn joins it (better-sqlite3 nests its own
 * transactions as savepoints), and one COMMIT at the end of the turn (setImmediate) makes them all
 * durable at once. A small upload makes about six transitions; committed one by one, each paid for its
 * own WAL append, lock and header write.
 *
 * The price is that a write is durable only once the turn's commit ran, so nothing may tell an app about
 * it before that: whoever acknowledges (the host's socket writes) waits with afterCommit(). If the
 * commit fails, nothing of that transaction was acknowledged; onError is told and the waiting
 * acknowledgements are dropped (the host exits: its in-memory state no longer matches the store, and
 * the next host recovers from what is on disk).
 */
export class GroupCommit {
  readonly #db: Database.Database;
  readonly #onError: (error: unknown) => void;
  #open = false;
  #waiting: Array<() => void> = [];

  constructor(db: Database.Database, onError: (error: unknown) => void) {
    this.#db = db;
    this.#onError = onError;
  }

  /** Whether writes are waiting for their commit. */
  get pending(): boolean {
    return this.#open;
  }

  /** Called before every write: begins the turn's transaction if none is open. */
  enter(): void {
    if (this.#open) return;
    this.#db.exec('BEGIN IMMEDIATE');
    this.#open = true;
    setImmediate(() => this.commit());
  }

  /** Runs `callback` once every write made so far is committed (at once if none waits). */
  afterCommit(callback: () => void): void {
    if (this.#open) this.#waiting.push(callback);
    else callback();
  }

  /** Commits now (the turn's scheduled commit then finds nothing to do). Used by close(). */
  commit(): void {
    if (!this.#open) return;
    this.#open = false;
    const waiting = this.#waiting;
    this.#waiting = [];
    try {
      // Some errors (SQLITE_FULL, SQLITE_IOERR) make SQLite roll the whole transaction back by itself.
      if (!this.#db.inTransaction) throw new Error('the transaction was rolled back by an earlier error');
      this.#db.exec('COMMIT');
    } catch (error) {
      try {
        if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
      } catch {
        // The connection is unusable; onError decides what happens next.
      }
      this.#onError(error);
      return;
    }
    for (const callback of waiting) callback();
  }
}
