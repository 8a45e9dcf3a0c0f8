import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { BackgroundTransferBehavior, BackgroundTransferStatus } from '../../src/core/enums.ts';
import { DEFAULT_EXTRAS } from '../../src/core/operation-extras.ts';
import type { ListFilter, TransferDirection } from '../../src/core/snapshot.ts';
import {
  COMPACT_ROW_FORM,
  ROW_FORMS,
  type RowForm,
  SNAPSHOT_ROW_FORM,
  toSnapshotRow,
} from '../../src/core/snapshot-row.ts';
import { toSnapshot } from '../../src/engine/live-transfer.ts';
import { CompactResponse } from '../../src/ipc/compact-response.ts';
import { checkSnapshotRows, checkSnapshots } from '../../src/ipc/snapshot-check.ts';
import { pageSql } from '../../src/store/list-queries.ts';
import type { ListPage } from '../../src/store/operation-record.ts';
import { SqliteOperationStore } from '../../src/store/sqlite-store.ts';
import { HTTP_ERROR, newOperation, RESPONSE } from '../helpers/store-fixtures.ts';

/**
 * The host sends an enumeration as the snapshots' JSON text built by SQLite (store/list-queries.ts). It
 * must be exactly the text of `toSnapshot(record)` (what every other reply and push carries) for every
 * kind of row, pages must follow the queue, and a damaged row must fail as a record read does.
 */

const root = mkdtempSync(join(tmpdir(), 'bgtransfer-snapshot-json-'));
after(() => rmSync(root, { recursive: true, force: true }));

let files = 0;
function openStore(): { store: SqliteOperationStore; path: string } {
  const path = join(root, `store-${files++}.db`);
  return { store: SqliteOperationStore.open(path), path };
}

/** Both forms of one enumeration, as text: the store's JSON and the records through toSnapshot. */
function bothForms(
  store: SqliteOperationStore,
  filter: ListFilter,
  page?: ListPage,
  direction?: TransferDirection,
): { sql: string[]; records: string[]; cursors: string[] } {
  const rows = store.listSnapshots('app.a', filter, page, direction);
  const records = store.listOperations('app.a', filter, page, direction);
  return {
    sql: rows.map(([, , json]) => json),
    records: records.map((record) => JSON.stringify(toSnapshot(record))),
    cursors: rows.map(([guid, seq]) => `${seq}/${guid}`),
  };
}

/** The same enumeration as rows (core/snapshot-row.ts): the store's text and toSnapshotRow of the records. */
function bothRowForms(
  store: SqliteOperationStore,
  filter: ListFilter,
  page?: ListPage,
  direction?: TransferDirection,
  form: RowForm = SNAPSHOT_ROW_FORM,
): { sql: string[]; records: string[] } {
  const rows = store.listSnapshots('app.a', filter, page, direction, form);
  const records = store.listOperations('app.a', filter, page, direction);
  return {
    sql: rows.map(([, , json]) => json),
    records: records.map((record) => JSON.stringify(toSnapshotRow(toSnapshot(record), form))),
  };
}

function seedEveryKind(store: SqliteOperationStore): void {
  store.insertOperation(newOperation({ guid: 'plain' }));
  store.insertOperation(newOperation({ guid: 'legacy-group', group: 'g "quoted" \\ ünïcode' }));
  store.insertOperation(
    newOperation({
      guid: 'serialized',
      transferGroup: { name: 'tg', transferBehavior: BackgroundTransferBehavior.serialized },
    }),
  );
  store.insertOperation(newOperation({ guid: 'no-source', sourcePath: null, headers: [] }));
  store.insertOperation(
    newOperation({
      guid: 'download',
      method: 'GET',
      sourcePath: null,
      download: { resultPath: '/data/out.bin' },
      extras: {
        ...DEFAULT_EXTRAS,
        body: { kind: 'none' },
        isRandomAccessRequired: true,
        recoverableWebErrorStatuses: [401, 403],
        expectedContentDigest: 'sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:',
      },
    }),
  );
  store.insertOperation(
    newOperation({ guid: 'download-defaults', method: 'GET', sourcePath: null, download: { resultPath: '/d/2' } }),
  );
  // Completed with an answer, a digest and the one-shot flags.
  store.insertOperation(newOperation({ guid: 'completed' }));
  store.moveToRunning('completed');
  store.recordProgress('completed', { bytesSent: 1000, bytesReceived: 0, totalBytesToReceive: 0 });
  store.recordResponse('completed', { ...RESPONSE, bodyTruncated: true }, 12);
  const record = store.getOperation('completed');
  assert.ok(record);
  store.updateExtras('completed', { ...record.extras, contentDigest: 'sha-256=:abc=:' });
  store.moveToCompleted('completed');
  // Failed, restarted: an error and hasRestarted.
  store.insertOperation(newOperation({ guid: 'failed' }));
  store.moveToRunning('failed');
  store.moveToQueued('failed', { restart: true, countAttempt: true, notBeforeMs: 0, lastError: HTTP_ERROR });
  store.moveToRunning('failed');
  store.moveToFailed('failed', HTTP_ERROR);
  store.insertOperation(newOperation({ guid: 'paused' }));
  store.applyEvent('paused', 'pause');
  // Answered by the requested URI itself (no redirect), with a header that needs escaping.
  store.insertOperation(newOperation({ guid: 'answered' }));
  store.moveToRunning('answered');
  const answered = store.getOperation('answered');
  assert.ok(answered);
  const headers: Array<[string, string]> = [['x-Quote', 'a "b" \\ ü \u2028 \t']];
  store.recordResponse('answered', { ...RESPONSE, actualUri: answered.requestedUri, headers }, 5);
}

describe('enumeration pages as JSON text (SqliteOperationStore.listSnapshots)', () => {
  it('is the text of toSnapshot(record) for every kind of operation, filter and direction', () => {
    const { store } = openStore();
    seedEveryKind(store);
    const filters: ListFilter[] = [
      { kind: 'all' },
      { kind: 'ungrouped' },
      { kind: 'group', group: 'g "quoted" \\ ünïcode' },
      { kind: 'transferGroup', name: 'tg' },
    ];
    for (const filter of filters) {
      for (const direction of [undefined, 'upload', 'download'] as const) {
        const { sql, records } = bothForms(store, filter, undefined, direction);
        assert.deepEqual(sql, records, `${filter.kind} ${direction ?? 'both'}`);
      }
    }
    const all = bothForms(store, { kind: 'all' });
    assert.equal(all.sql.length, 10);
    const statuses = all.sql.map((text) => (JSON.parse(text) as { progress: { status: number } }).progress.status);
    assert.ok(
      statuses.includes(BackgroundTransferStatus.completed) && statuses.includes(BackgroundTransferStatus.error),
    );
    store.close();
  });

  it('as rows, is the text of toSnapshotRow(toSnapshot(record)), and the client reads the same snapshots', () => {
    const { store } = openStore();
    seedEveryKind(store);
    for (const filter of [{ kind: 'all' }, { kind: 'transferGroup', name: 'tg' }] satisfies ListFilter[]) {
      for (const direction of [undefined, 'upload', 'download'] as const) {
        const { sql, records } = bothRowForms(store, filter, undefined, direction);
        assert.deepEqual(sql, records, `${filter.kind} ${direction ?? 'both'}`);
      }
    }
    const rows = bothRowForms(store, { kind: 'all' }).sql;
    const objects = bothForms(store, { kind: 'all' }).sql;
    assert.equal(rows.length, 10);
    const fromRows = checkSnapshotRows(JSON.parse(`[${rows.join(',')}]`), 'app.a', 'rows');
    assert.deepEqual(fromRows, checkSnapshots(JSON.parse(`[${objects.join(',')}]`), 'operations'));
    const bytes = (texts: string[]): number => texts.reduce((sum, text) => sum + text.length, 0);
    assert.ok(bytes(rows) < bytes(objects) * 0.7, `rows ${bytes(rows)} bytes, objects ${bytes(objects)}`);
    store.close();
  });

  it('as rows2, is the text of toSnapshotRow(…, rows2); the client reads the same snapshots, headers when read', () => {
    const { store } = openStore();
    seedEveryKind(store);
    for (const filter of [{ kind: 'all' }, { kind: 'transferGroup', name: 'tg' }] satisfies ListFilter[]) {
      for (const direction of [undefined, 'upload', 'download'] as const) {
        const { sql, records } = bothRowForms(store, filter, undefined, direction, COMPACT_ROW_FORM);
        assert.deepEqual(sql, records, `${filter.kind} ${direction ?? 'both'}`);
      }
    }
    const compact = bothRowForms(store, { kind: 'all' }, undefined, undefined, COMPACT_ROW_FORM).sql;
    const rows = bothRowForms(store, { kind: 'all' }).sql;
    const objects = checkSnapshots(JSON.parse(`[${bothForms(store, { kind: 'all' }).sql.join(',')}]`), 'operations');
    const fromCompact = checkSnapshotRows(JSON.parse(`[${compact.join(',')}]`), 'app.a', 'rows2', COMPACT_ROW_FORM);
    // A response is a CompactResponse, not a plain object: compared as what JSON.stringify writes.
    assert.deepEqual(JSON.parse(JSON.stringify(fromCompact)), JSON.parse(JSON.stringify(objects)));
    const byGuid = new Map(fromCompact.map((snapshot) => [snapshot.guid, snapshot]));
    const completed = byGuid.get('completed')?.response;
    assert.ok(completed instanceof CompactResponse);
    assert.equal(completed.actualUri, RESPONSE.actualUri, 'a redirected response keeps its URI');
    assert.equal(completed.bodyTruncated, true);
    assert.deepEqual(completed.headers, RESPONSE.headers);
    const answered = byGuid.get('answered');
    assert.ok(answered?.response instanceof CompactResponse);
    assert.equal(answered.response.actualUri, answered.requestedUri, 'null on the wire: the requested URI');
    assert.equal(Object.hasOwn(answered.response, 'bodyTruncated'), false);
    assert.deepEqual(answered.response.headers, [['x-Quote', 'a "b" \\ ü \u2028 \t']]);
    assert.match(compact.find((text) => text.includes('"answered"')) ?? '', /\[201,null,false,"/);
    const bytes = (texts: string[]): number => texts.reduce((sum, text) => sum + text.length, 0);
    assert.ok(bytes(compact) < bytes(rows), `rows2 ${bytes(compact)} bytes, rows1 ${bytes(rows)}`);
    store.close();
  });

  /** Checks one rows2 row of a completed plain upload whose response is `response`. */
  const checkRows2 = (response: unknown) =>
    checkSnapshotRows(
      [
        [
          'g',
          'PUT',
          'https://x.test/',
          null,
          null,
          null,
          0,
          0,
          0,
          0,
          0,
          0,
          6,
          false,
          false,
          1,
          response,
          null,
          0,
          null,
          'upload',
          null,
        ],
      ],
      'app.a',
      'rows2',
      COMPACT_ROW_FORM,
    );

  it('rows2 headers that are not pairs of strings fail when read, with BT_ERR_IPC_PROTOCOL', () => {
    for (const text of ['[["a"]]', '{"a":"b"}', '[["a",1]]', 'not json']) {
      const [snapshot] = checkRows2([200, null, false, text]);
      assert.equal(snapshot?.response?.statusCode, 200);
      assert.throws(() => snapshot?.response?.headers, { code: 'BT_ERR_IPC_PROTOCOL' }, text);
    }
    for (const response of [
      [200, null, false],
      [200, null, 'no', '[]'],
      ['200', null, false, '[]'],
      [200, null, false, [], true],
      [200, null, false, '[]', 1],
    ]) {
      assert.throws(() => checkRows2(response), /rows2\[0\]\.response/, JSON.stringify(response));
    }
  });

  it('a row written before the download fields reads them as their defaults', () => {
    const { store, path } = openStore();
    store.insertOperation(
      newOperation({ guid: 'old', method: 'GET', sourcePath: null, download: { resultPath: '/d/old' } }),
    );
    const db = new Database(path);
    const extras: Record<string, unknown> = { ...DEFAULT_EXTRAS, body: { kind: 'none' } };
    delete extras.isRandomAccessRequired;
    delete extras.recoverableWebErrorStatuses;
    delete extras.expectedContentDigest;
    delete extras.contentDigest;
    db.prepare('UPDATE operations SET extrasJson = ? WHERE guid = ?').run(JSON.stringify(extras), 'old');
    db.close();
    const { sql, records } = bothForms(store, { kind: 'all' });
    assert.deepEqual(sql, records);
    for (const form of ROW_FORMS) {
      const rows = bothRowForms(store, { kind: 'all' }, undefined, undefined, form);
      assert.deepEqual(rows.sql, rows.records, form);
    }
    assert.match(
      sql[0] ?? '',
      /"isRandomAccessRequired":false,"recoverableWebErrorStatuses":\[\],"expectedContentDigest":null/,
    );
    store.close();
  });

  it('pages follow the queue at every boundary: limit 1, an exact multiple, one over, past the end', () => {
    const { store } = openStore();
    for (let index = 0; index < 10; index++) store.insertOperation(newOperation({ guid: `op-${index}` }));
    // Reordered (R32): queue order, not insertion order; and two equal seq values, ordered by guid.
    store.setSequences([
      ['op-7', -5],
      ['op-3', 4],
    ]);
    const whole = bothForms(store, { kind: 'all' }).cursors;
    assert.equal(whole.length, 10);
    for (const limit of [1, 3, 5, 10, 11]) {
      const paged: string[] = [];
      let afterCursor: ListPage['after'] = null;
      for (let pages = 0; pages < 20; pages++) {
        const { sql, records, cursors } = bothForms(store, { kind: 'all' }, { after: afterCursor, limit });
        assert.deepEqual(sql, records);
        paged.push(...cursors);
        const last = store.listSnapshots('app.a', { kind: 'all' }, { after: afterCursor, limit }).at(-1);
        if (cursors.length < limit || last === undefined) break;
        afterCursor = { seq: last[1], guid: last[0] };
      }
      assert.deepEqual(paged, whole, `limit ${limit}`);
    }
    assert.deepEqual(store.listSnapshots('other.app', { kind: 'all' }), [], 'another app lists none');
    store.close();
  });

  it('the kept text of a listed operation follows every write to its row', () => {
    const { store } = openStore();
    for (let index = 0; index < 100; index++) store.insertOperation(newOperation({ guid: `op-${index}` }));
    const texts = (): string[] => store.listSnapshots('app.a', { kind: 'all' }).map(([, , json]) => json);
    const expected = (): string[] =>
      store.listOperations('app.a', { kind: 'all' }).map((record) => JSON.stringify(toSnapshot(record)));
    const rowsHold = (when: string): void => {
      for (const form of ROW_FORMS) {
        const { sql, records } = bothRowForms(store, { kind: 'all' }, undefined, undefined, form);
        assert.deepEqual(sql, records, `${form} ${when}`);
      }
    };
    assert.deepEqual(texts(), expected(), 'first listing (every text read from SQL)');
    rowsHold('first listing');
    const writes: Array<[string, () => unknown]> = [
      ['moveToRunning', () => store.moveToRunning('op-1')],
      [
        'recordProgress',
        () => store.recordProgress('op-1', { bytesSent: 7, bytesReceived: 0, totalBytesToReceive: 0 }),
      ],
      ['recordResponse', () => store.recordResponse('op-1', RESPONSE, 3)],
      ['markInterrupted', () => store.markInterrupted('op-1', true)],
      ['resetReceived', () => store.resetReceived('op-1')],
      ['moveToQueued', () => store.moveToQueued('op-1', { restart: false, countAttempt: true, notBeforeMs: 0 })],
      [
        'updateProperties',
        () => store.updateProperties('op-2', { priority: 1, costPolicy: 2, requestedUri: 'https://x.test/' }),
      ],
      ['pause', () => store.applyEvent('op-3', 'pause')],
      ['updateExtras', () => store.updateExtras('op-4', { ...DEFAULT_EXTRAS, contentDigest: 'sha-256=:x=:' })],
      ['moveToFailed', () => store.moveToFailed('op-5', HTTP_ERROR)],
      ['moveToCanceled', () => store.moveToCanceled('op-6')],
      ['setSequences', () => store.setSequences([['op-7', -1]])],
    ];
    for (const [name, write] of writes) {
      write();
      assert.deepEqual(texts(), expected(), `after ${name}`);
      rowsHold(`after ${name}`);
    }
    // Many rows changed at once: the page is read whole again.
    for (let index = 10; index < 100; index++) store.applyEvent(`op-${index}`, 'pause');
    assert.deepEqual(texts(), expected(), 'after 90 pauses');
    rowsHold('after 90 pauses');
    store.close();
  });

  it('a page is a range of the (appId, seq, guid) index (schema v8), not a sort of every row of the app', () => {
    const { store, path } = openStore();
    store.close();
    const db = new Database(path, { readonly: true });
    for (const kind of ['all', 'ungrouped', 'transferGroup'] as const) {
      const plan = db
        .prepare(`EXPLAIN QUERY PLAN ${pageSql('SELECT guid FROM operations', kind)}`)
        .all('app.a', ...(kind === 'transferGroup' ? ['x'] : []), '["upload"]', 0, '', 10)
        .map((row) => (row as { detail: string }).detail)
        .join('; ');
      assert.match(plan, /USING INDEX operations_app_seq \(appId=\? AND \(seq,guid\)>\(\?,\?\)\)/, `${kind}: ${plan}`);
      assert.doesNotMatch(plan, /TEMP B-TREE/, `${kind}: ${plan}`);
    }
    db.close();
  });

  for (const [column, value, message] of [
    ['status', 99, /status has an unknown value 99/],
    ['responseJson', '{"statusCode":', /responseJson is not valid JSON/],
    ['extrasJson', 'not json', /extrasJson is not valid/],
  ] as const) {
    it(`a damaged row (${column}) fails the page with BT_ERR_STORE naming it, as a record read does`, () => {
      const { store, path } = openStore();
      store.insertOperation(newOperation({ guid: 'fine' }));
      store.insertOperation(newOperation({ guid: 'damaged' }));
      const db = new Database(path);
      db.prepare(`UPDATE operations SET ${column} = ? WHERE guid = ?`).run(value, 'damaged');
      db.close();
      for (const form of ['objects', ...ROW_FORMS] as const) {
        assert.throws(() => store.listSnapshots('app.a', { kind: 'all' }, undefined, undefined, form), {
          code: 'BT_ERR_STORE',
          message: new RegExp(`operation damaged: .*${message.source}`),
        });
      }
      assert.throws(() => store.listOperations('app.a', { kind: 'all' }), { code: 'BT_ERR_STORE', message });
      store.close();
    });
  }
});
