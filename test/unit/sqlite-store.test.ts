import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { BackgroundTransferBehavior, BackgroundTransferStatus } from '../../src/core/enums.ts';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, migrate } from '../../src/store/migrations.ts';
import { openDatabase, PAGE_CACHE_SIZE } from '../../src/store/open-database.ts';
import { SqliteOperationStore } from '../../src/store/sqlite-store.ts';
import { assertThrowsCode, GIB, newOperation } from '../helpers/store-fixtures.ts';
import { runStoreContract } from './store-contract.ts';

let root = '';
let counter = 0;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'bgtransfer-sqlite-'));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

function freshPath(): string {
  counter += 1;
  return join(root, `store-${counter}`, 'bgtransfer.db');
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

/** A second, raw connection to inspect what is really on disk. */
function withRaw<T>(path: string, read: (db: Database.Database) => T): T {
  const db = new Database(path);
  try {
    return read(db);
  } finally {
    db.close();
  }
}

runStoreContract('SqliteOperationStore', () => SqliteOperationStore.open(freshPath()));

describe('SqliteOperationStore on disk', () => {
  it('persists across close and reopen, through the WAL file', () => {
    const path = freshPath();
    const store = SqliteOperationStore.open(path);
    store.insertOperation(newOperation({ sourceSize: 5 * GIB }));
    const running = store.moveToRunning('op-1');
    store.recordProgress('op-1', { bytesSent: 4 * GIB + 1, bytesReceived: 0, totalBytesToReceive: 0 });
    assert.ok(existsSync(`${path}-wal`), 'journal_mode=WAL writes a -wal file next to the database');
    const expected = store.getOperation('op-1');
    store.close();

    const reopened = SqliteOperationStore.open(path);
    const record = reopened.getOperation('op-1');
    assert.deepEqual(record, expected);
    assert.equal(record?.progress.bytesSent, 4 * GIB + 1);
    assert.equal(record?.progress.status, running?.progress.status);
    const next = reopened.insertOperation(newOperation({ guid: 'op-2' }));
    assert.ok(expected && next.seq > expected.seq, 'the queue continues after reopening');
    reopened.close();
  });

  it('stores sizes as INTEGER and is at the latest schema version, in WAL mode', () => {
    const path = freshPath();
    const store = SqliteOperationStore.open(path);
    store.insertOperation(newOperation({ sourceSize: 5 * GIB }));
    store.close();
    withRaw(path, (db) => {
      assert.equal(db.pragma('user_version', { simple: true }), LATEST_SCHEMA_VERSION);
      assert.equal(LATEST_SCHEMA_VERSION, MIGRATIONS.length);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      const row = db
        .prepare<[], { size: number; kind: string }>(
          'SELECT totalBytesToSend AS size, typeof(totalBytesToSend) AS kind FROM operations',
        )
        .get();
      assert.deepEqual(row, { size: 5 * GIB, kind: 'integer' });
    });
  });

  it('runs with synchronous = NORMAL whether it created the file (set up without waiting for the disk) or not', () => {
    const path = freshPath();
    for (const open of ['created', 'existing']) {
      const db = openDatabase(path);
      try {
        // 1 = NORMAL: a fresh store is set up with OFF (nothing in it to lose), then runs like any other.
        assert.equal(db.pragma('synchronous', { simple: true }), 1, `${open} store`);
        assert.equal(db.pragma('journal_mode', { simple: true }), 'wal', `${open} store`);
        // A page cache of 2 MiB, not the 16 MiB better-sqlite3 is built with (the idle host keeps it).
        assert.equal(db.pragma('cache_size', { simple: true }), PAGE_CACHE_SIZE, `${open} store`);
        assert.equal(PAGE_CACHE_SIZE, -2000);
      } finally {
        db.close();
      }
    }
  });

  it('refuses a database written by a newer version with BT_ERR_STORE', () => {
    const path = freshPath();
    SqliteOperationStore.open(path).close();
    withRaw(path, (db) => db.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 1}`));
    assert.throws(
      () => SqliteOperationStore.open(path),
      (error: unknown) => {
        assert.ok(error instanceof Error && 'code' in error);
        assert.equal(error.code, 'BT_ERR_STORE');
        assert.match(error.message, /newer/);
        return true;
      },
    );
    withRaw(path, (db) => assert.equal(db.pragma('user_version', { simple: true }), LATEST_SCHEMA_VERSION + 1));
  });

  it('migrate() is idempotent and reports the version', () => {
    const db = new Database(':memory:');
    assert.equal(migrate(db), LATEST_SCHEMA_VERSION);
    assert.equal(migrate(db), LATEST_SCHEMA_VERSION);
    db.close();
  });

  it('two connections to the same file see each other’s committed writes', () => {
    const path = freshPath();
    const engine = SqliteOperationStore.open(path);
    const cli = SqliteOperationStore.open(path);
    engine.insertOperation(newOperation());
    assert.equal(cli.getOperation('op-1')?.progress.status, BackgroundTransferStatus.idle);
    assert.equal(cli.moveToCanceled('op-1')?.progress.status, BackgroundTransferStatus.canceled);
    assert.equal(engine.moveToRunning('op-1'), null, 'the guard sees the other connection’s cancel');
    assert.equal(engine.getOperation('op-1')?.progress.status, BackgroundTransferStatus.canceled);
    cli.close();
    engine.close();
  });

  it('creates a missing directory 0700 and the database file 0600', () => {
    const dir = join(root, 'private', 'nested');
    const path = join(dir, 'bgtransfer.db');
    const store = SqliteOperationStore.open(path);
    store.insertOperation(newOperation());
    assert.equal(mode(join(root, 'private')), 0o700);
    assert.equal(mode(dir), 0o700);
    assert.equal(mode(path), 0o600);
    assert.equal(mode(`${path}-wal`), 0o600, 'SQLite gives the WAL the database file’s mode');
    store.close();
  });

  it('leaves the mode of an existing directory alone', () => {
    const dir = join(root, 'shared');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    const store = SqliteOperationStore.open(join(dir, 'bgtransfer.db'));
    assert.equal(mode(dir), 0o755);
    assert.equal(mode(join(dir, 'bgtransfer.db')), 0o600);
    store.close();
  });

  it('fails with BT_ERR_STORE when the path cannot be a database', () => {
    assertThrowsCode(() => SqliteOperationStore.open(root), 'BT_ERR_STORE');
  });

  it('reports a corrupt JSON column as BT_ERR_STORE', () => {
    const path = freshPath();
    const store = SqliteOperationStore.open(path);
    store.insertOperation(newOperation());
    withRaw(path, (db) => db.prepare("UPDATE operations SET headersJson = '{not json' WHERE guid = 'op-1'").run());
    assertThrowsCode(() => store.getOperation('op-1'), 'BT_ERR_STORE');
    withRaw(path, (db) => db.prepare(`UPDATE operations SET headersJson = '[["a", 1]]' WHERE guid = 'op-1'`).run());
    assertThrowsCode(() => store.listOperations('app.a', { kind: 'all' }), 'BT_ERR_STORE');
    store.close();
  });

  it('transfer groups persist across sessions (R27); upsert updates, insert only adds (R26)', () => {
    const path = freshPath();
    const store = SqliteOperationStore.open(path);
    const serialized = { name: 'tg', transferBehavior: BackgroundTransferBehavior.serialized };
    store.insertOperation(newOperation({ transferGroup: serialized }));
    store.insertOperation(
      newOperation({
        guid: 'op-2',
        transferGroup: { name: 'tg', transferBehavior: BackgroundTransferBehavior.parallel },
      }),
    );
    assert.deepEqual(store.getTransferGroup('app.a', 'tg'), serialized);
    store.upsertTransferGroup('app.a', { name: 'solo', transferBehavior: BackgroundTransferBehavior.serialized });
    store.upsertTransferGroup('app.a', { name: 'solo', transferBehavior: BackgroundTransferBehavior.parallel });
    store.close();

    const reopened = SqliteOperationStore.open(path);
    assert.deepEqual(reopened.getTransferGroup('app.a', 'tg'), serialized);
    assert.deepEqual(reopened.getTransferGroup('app.a', 'solo'), {
      name: 'solo',
      transferBehavior: BackgroundTransferBehavior.parallel,
    });
    assert.equal(reopened.getTransferGroup('app.b', 'solo'), undefined);
    reopened.close();
  });

  it('uses the injected clock for updatedAtMs', () => {
    let now = 1000;
    const store = SqliteOperationStore.open(':memory:', { now: () => now });
    assert.equal(store.insertOperation(newOperation()).updatedAtMs, 1000);
    now = 2500;
    assert.equal(store.moveToRunning('op-1')?.updatedAtMs, 2500);
    store.close();
  });
});
