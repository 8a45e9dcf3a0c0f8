import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { MemoryOperationStore } from '../../src/store/memory-store.ts';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, migrate } from '../../src/store/migrations.ts';
import type { OperationStore } from '../../src/store/operation-store.ts';
import { newOperationRow } from '../../src/store/record-mapping.ts';
import { SqliteOperationStore } from '../../src/store/sqlite-store.ts';
import { newOperation } from '../helpers/store-fixtures.ts';

const root = mkdtempSync(join(tmpdir(), 'bgtransfer-direction-'));
after(() => rmSync(root, { recursive: true, force: true }));

function insertBoth(store: OperationStore): void {
  store.insertOperation(newOperation({ guid: 'up-1' }));
  store.insertOperation(
    newOperation({ guid: 'down-1', method: 'GET', sourcePath: null, download: { resultPath: '/data/out.bin' } }),
  );
  store.insertOperation(newOperation({ guid: 'up-2', group: 'g' }));
}

for (const [name, open] of [
  ['SqliteOperationStore', () => SqliteOperationStore.open(':memory:')],
  ['MemoryOperationStore', () => new MemoryOperationStore()],
] as const) {
  describe(`${name}: direction`, () => {
    it('a page of one direction holds `limit` operations of that direction, however they interleave', () => {
      const store: OperationStore = open();
      for (let index = 0; index < 6; index++) {
        store.insertOperation(
          newOperation({ guid: `down-${index}`, method: 'GET', sourcePath: null, download: { resultPath: '/d/x' } }),
        );
        store.insertOperation(newOperation({ guid: `up-${index}` }));
      }
      const first = store.listOperations('app.a', { kind: 'all' }, { after: null, limit: 4 }, 'upload');
      assert.deepEqual(
        first.map((record) => record.guid),
        ['up-0', 'up-1', 'up-2', 'up-3'],
      );
      const last = first.at(-1);
      assert.ok(last);
      const second = store.listOperations(
        'app.a',
        { kind: 'all' },
        { after: { seq: last.seq, guid: last.guid }, limit: 4 },
        'upload',
      );
      assert.deepEqual(
        second.map((record) => record.guid),
        ['up-4', 'up-5'],
      );
      store.close();
    });

    it('stores a download with its result path and filters enumerations by direction', () => {
      const store: OperationStore = open();
      insertBoth(store);
      const download = store.getOperation('down-1');
      assert.equal(download?.direction, 'download');
      assert.equal(download?.resultPath, '/data/out.bin');
      assert.equal(store.getOperation('up-1')?.direction, 'upload');
      assert.equal(store.getOperation('up-1')?.resultPath, null);
      const guids = (direction?: 'upload' | 'download') =>
        store.listOperations('app.a', { kind: 'all' }, undefined, direction).map((record) => record.guid);
      assert.deepEqual(guids(), ['up-1', 'down-1', 'up-2']);
      assert.deepEqual(guids('upload'), ['up-1', 'up-2']);
      assert.deepEqual(guids('download'), ['down-1']);
      assert.deepEqual(
        store.listOperations('app.a', { kind: 'ungrouped' }, undefined, 'upload').map((record) => record.guid),
        ['up-1'],
      );
      store.close();
    });

    it('replaces a live download’s requestedUri (an expired signed URL renewed)', () => {
      const store: OperationStore = open();
      insertBoth(store);
      const updated = store.updateProperties('down-1', { requestedUri: 'https://example.test/new?sig=2' });
      assert.equal(updated?.requestedUri, 'https://example.test/new?sig=2');
      assert.equal(store.getOperation('down-1')?.requestedUri, 'https://example.test/new?sig=2');
      store.close();
    });
  });
}

describe('migration 7 (downloads)', () => {
  it('turns rows written at schema version 6 into uploads with no result path', () => {
    const path = join(root, 'v6.db');
    const db = new Database(path);
    migrate(
      db,
      MIGRATIONS.filter((migration) => migration.version <= 6),
    );
    assert.equal(db.pragma('user_version', { simple: true }), 6);
    const { direction: _direction, resultPath: _resultPath, ...row } = newOperationRow(newOperation(), Date.now());
    const columns = Object.keys(row);
    db.prepare(
      `INSERT INTO operations (${[...columns, 'seq'].join(', ')}) VALUES (${[...columns, 'seq'].map((c) => `@${c}`).join(', ')})`,
    ).run({ ...row, seq: 1 });
    db.close();
    const store = SqliteOperationStore.open(path);
    const record = store.getOperation('op-1');
    assert.equal(record?.direction, 'upload');
    assert.equal(record?.resultPath, null);
    assert.deepEqual(
      store.listOperations('app.a', { kind: 'all' }, undefined, 'upload').map((r) => r.guid),
      ['op-1'],
    );
    assert.deepEqual(store.listOperations('app.a', { kind: 'all' }, undefined, 'download'), []);
    store.close();
    const raw = new Database(path);
    assert.equal(raw.pragma('user_version', { simple: true }), LATEST_SCHEMA_VERSION);
    raw.close();
  });
});
