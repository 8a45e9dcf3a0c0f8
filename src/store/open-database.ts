import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { TransferError } from '../core/errors.ts';
import { fileKind } from '../core/safe-read.ts';
import { migrate } from './migrations.ts';
import {
  assertSameStore,
  assertStoreFilePresent,
  databaseStoreId,
  readRecordedStoreId,
  recordStoreId,
} from './store-identity.ts';

/**
 * Opening the SQLite file: what is at the path must be a regular file (a link is not followed), and in
 * a home that had a store, the very database it had (store-identity.ts); only then is it migrated.
 */

export function storeError(what: string, error: unknown): TransferError {
  if (error instanceof TransferError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new TransferError('BT_ERR_STORE', `${what}: ${message}`, { cause: error });
}

/**
 * SQLite's page cache, in the negative form (KiB): 2 MiB, SQLite's own default. better-sqlite3 builds
 * SQLite with 16 MiB, and the host kept all of it: one enumeration reads every row of the app, so a
 * host with 10,000 stored held 11 MiB more while idle, for pages the kernel's page cache holds anyway.
 * docs/performance.md ("Host and library weight") has the measurement.
 */
export const PAGE_CACHE_SIZE = -2000;

/** Opens, checks and migrates the database at `path` (`:memory:`: a private one, unchecked). */
export function openDatabase(path: string): Database.Database {
  const inMemory = path === ':memory:';
  let recorded: string | undefined;
  let created = false;
  let db: Database.Database;
  try {
    if (!inMemory) {
      assertStoreFileKind(path);
      recorded = readRecordedStoreId(path);
      if (recorded !== undefined) assertStoreFilePresent(path);
      created = prepareFile(path);
    }
    db = new Database(path, { fileMustExist: !inMemory });
  } catch (error) {
    throw storeError(`cannot open the store at ${path}`, error);
  }
  try {
    if (recorded !== undefined) assertSameStore(db, path, recorded);
    // A file this call created holds nothing yet: switching it to WAL and creating the schema need not
    // wait for the disk (six fsyncs, 50–150 ms of a fresh in-process app's start-up here). Were the
    // machine to lose power before the first checkpoint syncs it, the store is refused at the next open
    // like any damaged store (`bgtransfer host reset-store`); nothing had been queued in it yet.
    if (created) db.pragma('synchronous = OFF');
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    db.pragma(`cache_size = ${PAGE_CACHE_SIZE}`);
    migrate(db);
    db.pragma('synchronous = NORMAL');
    if (!inMemory && recorded === undefined) {
      const id = databaseStoreId(db);
      if (id !== undefined) recordStoreId(path, id);
    }
    return db;
  } catch (error) {
    db.close();
    if (error instanceof Database.SqliteError && error.code === 'SQLITE_NOTADB') {
      throw new TransferError(
        'BT_ERR_STORE',
        `the store ${path} is not a SQLite database (overwritten or corrupt); restore it from a backup, or run ` +
          '`bgtransfer host reset-store` to move it aside and start with an empty store',
        { cause: error },
      );
    }
    throw storeError(`cannot open the store at ${path}`, error);
  }
}

/** A link at the store's path is never followed (it could point anywhere); a directory or FIFO is no store. */
function assertStoreFileKind(path: string): void {
  let stats: Stats;
  try {
    stats = lstatSync(path);
  } catch {
    return; // nothing there (yet), or an unreadable parent: new Database reports that
  }
  if (stats.isSymbolicLink()) {
    throw new TransferError(
      'BT_ERR_HOME_UNSAFE',
      `the store ${path} is a symbolic link; it is not followed (move the real file there)`,
    );
  }
  if (!stats.isFile()) {
    throw new TransferError(
      'BT_ERR_STORE',
      `the store ${path} is ${fileKind(stats)}, not a database file; move it aside`,
    );
  }
}

/**
 * Creates missing parent directories as 0700 and the database file as 0600: it holds URIs and headers.
 * True when it created the file (a new, empty store).
 */
function prepareFile(path: string): boolean {
  const file = resolve(path);
  const dir = dirname(file);
  const firstCreated = mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (firstCreated !== undefined) {
    // mkdir's mode is filtered by the umask; chmod makes every directory we created exactly 0700.
    for (let current = dir; ; current = dirname(current)) {
      chmodSync(current, 0o700);
      if (current === firstCreated || current === dirname(current)) break;
    }
  }
  let fd: number;
  try {
    // O_EXCL: a link planted at the path is not followed (EEXIST; guardHomeEntry has refused it already).
    fd = openSync(file, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false; // an existing store keeps its mode
    throw error;
  }
  closeSync(fd);
  chmodSync(file, 0o600); // the umask may have removed bits, never added them; make it exact
  return true;
}
