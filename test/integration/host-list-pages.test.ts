import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ResponseInformation } from '../../src/api/response-information.ts';
import { homeLayout, hostSocketPath } from '../../src/core/paths.ts';
import type { OperationSnapshot, ResponseSnapshot } from '../../src/core/snapshot.ts';
import { COMPACT_ROW_FORM, SNAPSHOT_ROW_FORM } from '../../src/core/snapshot-row.ts';
import { CompactResponse } from '../../src/ipc/compact-response.ts';
import { stopHost } from '../../src/ipc/host-control.ts';
import { PROTOCOL_VERSION } from '../../src/ipc/protocol.ts';
import { checkSnapshotRows } from '../../src/ipc/snapshot-check.ts';
import { SocketPort } from '../../src/ipc/socket-port.ts';
import { SqliteOperationStore } from '../../src/store/sqlite-store.ts';
import { newOperation, RESPONSE } from '../helpers/store-fixtures.ts';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.ts';

/**
 * A large enumeration through a real host: the socket client's `list` arrives in pages (listPage), each
 * frame a fraction of the whole, with the same operations in the same order as the single-reply `list`
 * that older clients still call; asked for rows (core/snapshot-row.ts), a page holds the same snapshots.
 */

const APP_ID = 'list-pages-app';
const ANSWERED_APP_ID = 'list-pages-answered';
const COUNT = 2_500;
let temp: TempDir;
let home: string;

before(async () => {
  temp = await makeTempDir('bt-list-pages-');
  home = join(temp.path, 'home');
  const store = SqliteOperationStore.open(homeLayout(home).database);
  try {
    // Canceled: finished operations do not change while the test compares enumerations.
    for (let index = 0; index < COUNT; index++) {
      const guid = `op-${String(index).padStart(5, '0')}`;
      store.insertOperation(newOperation({ guid, appId: APP_ID, createdAtMs: 1_700_000_000_000 + index }));
      store.moveToCanceled(guid);
    }
    // Queue order is not insertion order once an app reorders (R32): the pages must follow it.
    store.setSequences([['op-02000', -1]]);
    // Another app's completed uploads with answers: redirected, from the requested URI, body truncated.
    const answers: Array<[string, Partial<ResponseSnapshot>]> = [
      ['answered-0', {}],
      ['answered-1', { actualUri: 'same' }],
      ['answered-2', { actualUri: 'same', bodyTruncated: true, headers: [['x-Odd', 'a "b" \\ ü']] }],
    ];
    for (const [guid, answer] of answers) {
      store.insertOperation(newOperation({ guid, appId: ANSWERED_APP_ID }));
      store.moveToRunning(guid);
      const requestedUri = store.getOperation(guid)?.requestedUri ?? '';
      const actualUri = answer.actualUri === 'same' ? requestedUri : RESPONSE.actualUri;
      store.recordResponse(guid, { ...RESPONSE, ...answer, actualUri }, 0);
      store.moveToCompleted(guid);
    }
  } finally {
    store.close();
  }
});

after(async () => {
  await stopHost(home).catch(() => false);
  await temp.cleanup();
});

/** Sends frames on a raw socket and returns each reply line as it arrived. */
async function rawCalls(frames: object[]): Promise<string[]> {
  const socket: Socket = connect(hostSocketPath(home));
  const lines: string[] = [];
  let buffered = '';
  const done = new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (let at = buffered.indexOf('\n'); at !== -1; at = buffered.indexOf('\n')) {
        lines.push(buffered.slice(0, at));
        buffered = buffered.slice(at + 1);
        const next = frames[lines.length];
        if (next === undefined) resolve();
        else socket.write(`${JSON.stringify(next)}\n`);
      }
    });
  });
  socket.write(`${JSON.stringify(frames[0])}\n`);
  await done;
  socket.destroy();
  return lines;
}

test('list through the socket: several listPage frames, the same operations and order as one list reply', async () => {
  const port = new SocketPort(home);
  try {
    const listed = await port.call('list', APP_ID, { filter: { kind: 'all' } });
    assert.equal(listed.length, COUNT);
    assert.equal(listed[0]?.guid, 'op-02000', 'queue order, as reordered');

    const hello = {
      v: PROTOCOL_VERSION,
      id: 1,
      method: 'hello',
      params: { protocolVersion: PROTOCOL_VERSION, appId: APP_ID },
    };
    const [, whole] = await rawCalls([
      hello,
      { v: PROTOCOL_VERSION, id: 2, method: 'list', params: { filter: { kind: 'all' } } },
    ]);
    const single = (JSON.parse(whole ?? '') as { result: OperationSnapshot[] }).result;
    assert.deepEqual(
      listed.map((snapshot) => snapshot.guid),
      single.map((snapshot) => snapshot.guid),
    );
    assert.deepEqual(listed, single);

    // The pages as the socket client fetches them (1,000 a page): no frame carries the whole list.
    const pages: string[] = [];
    let cursor: unknown = null;
    do {
      const [, reply] = await rawCalls([
        hello,
        {
          v: PROTOCOL_VERSION,
          id: 2,
          method: 'listPage',
          params: { filter: { kind: 'all' }, after: cursor, limit: 1000 },
        },
      ]);
      pages.push(reply ?? '');
      cursor = (JSON.parse(reply ?? '') as { result: { next: unknown } }).result.next;
    } while (cursor !== null);
    assert.equal(pages.length, 3);
    const largest = Math.max(...pages.map((page) => page.length));
    assert.ok(largest < (whole ?? '').length / 2, `largest page ${largest} bytes, whole list ${whole?.length}`);
    const paged = pages.flatMap(
      (page) => (JSON.parse(page) as { result: { operations: OperationSnapshot[] } }).result.operations,
    );
    assert.deepEqual(paged, single);

    // A client that read listForms in hello asks for rows: the same snapshots in about half the bytes.
    const [helloReply, rowsReply] = await rawCalls([
      hello,
      {
        v: PROTOCOL_VERSION,
        id: 2,
        method: 'listPage',
        params: { filter: { kind: 'all' }, after: null, limit: 1000, form: SNAPSHOT_ROW_FORM },
      },
    ]);
    assert.deepEqual((JSON.parse(helloReply ?? '') as { result: { listForms: string[] } }).result.listForms, [
      SNAPSHOT_ROW_FORM,
      COMPACT_ROW_FORM,
    ]);
    const rowsPage = (JSON.parse(rowsReply ?? '') as { result: { appId: string; rows: unknown[] } }).result;
    assert.equal(rowsPage.appId, APP_ID);
    assert.deepEqual(checkSnapshotRows(rowsPage.rows, rowsPage.appId, 'rows'), single.slice(0, 1000));
    assert.ok((rowsReply ?? '').length < (pages[0] ?? '').length * 0.7, 'rows are the smaller form');

    // rows2, under its own key: the same snapshots (the response's form is snapshot-json.test.ts's).
    const [, compactReply] = await rawCalls([
      hello,
      {
        v: PROTOCOL_VERSION,
        id: 2,
        method: 'listPage',
        params: { filter: { kind: 'all' }, after: null, limit: 1000, form: COMPACT_ROW_FORM },
      },
    ]);
    const compactPage = (JSON.parse(compactReply ?? '') as { result: { appId: string; rows2: unknown[] } }).result;
    assert.equal(compactPage.appId, APP_ID);
    const compact = checkSnapshotRows(compactPage.rows2, compactPage.appId, 'rows2', COMPACT_ROW_FORM);
    assert.deepEqual(compact, single.slice(0, 1000));
  } finally {
    await port.close();
  }
});

test('an enumeration from a real host (rows2) gives the responses that get gives, headers read when asked', async () => {
  const port = new SocketPort(home);
  try {
    const listed = await port.call('list', ANSWERED_APP_ID, { filter: { kind: 'all' } });
    assert.equal(listed.length, 3);
    for (const snapshot of listed) {
      const got = await port.call('get', ANSWERED_APP_ID, { guid: snapshot.guid });
      assert.ok(got.response);
      assert.deepEqual(JSON.parse(JSON.stringify(snapshot)), JSON.parse(JSON.stringify(got)), snapshot.guid);
      assert.ok(snapshot.response instanceof CompactResponse, 'read from a rows2 page');
      const information = new ResponseInformation(snapshot.response);
      assert.equal(information.actualUri.absoluteUri, new ResponseInformation(got.response).actualUri.absoluteUri);
      assert.deepEqual(snapshot.response.headers, got.response.headers);
    }
    assert.equal(listed[1]?.response?.actualUri, listed[1]?.requestedUri);
    assert.equal(listed[2]?.response?.bodyTruncated, true);
    assert.deepEqual(listed[2]?.response?.headers, [['x-Odd', 'a "b" \\ ü']]);
  } finally {
    await port.close();
  }
});

test('listPage refuses a page larger than the host sends in one frame', async () => {
  const port = new SocketPort(home);
  try {
    await assert.rejects(port.call('listPage', APP_ID, { filter: { kind: 'all' }, after: null, limit: 1_000_000 }), {
      code: 'BT_ERR_INVALID_ARGUMENT',
      message: /listPage.*2000/,
    });
  } finally {
    await port.close();
  }
});
