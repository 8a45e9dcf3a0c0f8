import { randomBytes } from 'node:crypto';
import { closeSync, lstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { TransferError } from '../core/errors.ts';
import { readBoundedFile } from '../core/safe-read.ts';

/**
 * A store that vanished must not be taken for a first start. SQLite makes an empty file into a fresh,
 * empty database without a word, so a bgtransfer.db truncated to 0 bytes (or deleted, or swapped for
 * another database) would lose every operation silently. So the database holds a random id
 * (migration 5), and after the first successful open the id is also written beside it, to
 * `<database>.id`. From then on the database must be there, non-empty, and hold that id.
 */

/** The marker file of the store at `database`. */
export function storeIdPath(database: string): string {
  return `${database}.id`;
}

const ID_PATTERN = /^[0-9a-f]{32}$/;

/** How to get going again; every refusal says it. */
function recovery(database: string): string {
  return (
    `restore ${database} (and its -wal file) from a backup, or run \`bgtransfer host reset-store\` to move ` +
    `what is left aside and start with an empty store (or remove ${storeIdPath(database)})`
  );
}

export function replaced(database: string, what: string): TransferError {
  return new TransferError('BT_ERR_STORE_REPLACED', `the store ${database} ${what}; ${recovery(database)}`);
}

/** The id this home recorded for its store, or undefined on a first start. */
export function readRecordedStoreId(database: string): string | undefined {
  const bytes = readBoundedFile(storeIdPath(database), { maxBytes: 256, code: 'BT_ERR_HOME_UNSAFE', what: 'store id' });
  if (bytes === undefined) return undefined;
  const id = bytes.toString('utf8').trim();
  if (!ID_PATTERN.test(id)) {
    throw new TransferError(
      'BT_ERR_STORE_REPLACED',
      `${storeIdPath(database)} does not hold a store id; ${recovery(database)}`,
    );
  }
  return id;
}

/** Before opening: a home that had a store needs a database file with content at `database`. */
export function assertStoreFilePresent(database: string): void {
  let size: number;
  try {
    size = lstatSync(database).size;
  } catch {
    throw replaced(database, 'is missing, but this home had one');
  }
  if (size === 0) throw replaced(database, 'is empty (0 bytes), but this home had a store with operations');
}

/** The id inside an open database, or undefined when it has none (not a bgtransfer store, or pre-5). */
export function databaseStoreId(db: Database.Database): string | undefined {
  const table = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'storeIdentity'").get();
  if (table === undefined) return undefined;
  const row = db.prepare('SELECT id FROM storeIdentity LIMIT 1').get() as { id?: unknown } | undefined;
  return typeof row?.id === 'string' ? row.id : undefined;
}

/** After opening, before migrating: the database must be the one the home recorded. */
export function assertSameStore(db: Database.Database, database: string, expected: string): void {
  const actual = databaseStoreId(db);
  if (actual === undefined) throw replaced(database, 'is not the database this home had (it has no store id)');
  if (actual !== expected) {
    throw replaced(database, `is another database (store id ${actual}, this home had ${expected})`);
  }
}

/** Records the id beside the database: temp file (O_EXCL, 0600) then rename, so it is whole or absent. */
export function recordStoreId(database: string, id: string): void {
  const temp = `${storeIdPath(database)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const fd = openSync(temp, 'wx', 0o600);
    try {
      writeSync(fd, `${id}\n`);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, storeIdPath(database));
  } catch (error) {
    rmSync(temp, { force: true });
    throw new TransferError('BT_ERR_IO', `cannot write ${storeIdPath(database)}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
