import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BackgroundTransferStatus } from '../../src/core/enums.ts';
import { TransferError } from '../../src/core/errors.ts';
import type { OperationSnapshot } from '../../src/core/snapshot.ts';
import { COMPACT_ROW_FORM, SNAPSHOT_ROW_FORM, toSnapshotRow } from '../../src/core/snapshot-row.ts';
import { STREAM_PAGE_SIZE } from '../../src/ipc/list-pages.ts';
import { MAX_LIST_PAGE } from '../../src/ipc/methods.ts';
import { PROTOCOL_VERSION } from '../../src/ipc/protocol.ts';
import { SocketPort } from '../../src/ipc/socket-port.ts';
import { type FakeHostAnswer, startFakeHost } from '../helpers/fake-host.ts';
import { spawnNode } from '../helpers/process-tools.ts';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.ts';

/**
 * The client side of an enumeration, against a raw server on the home's socket that plays the host
 * frame by frame: the pages the client asks for (size, cursor), a broken snapshot in a later page (the
 * coded error naming where, nothing half-listed), a host that predates listPage (the single-reply list),
 * and `bgtransfer list --json` printing each page as it arrives.
 */

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const APP_ID = 'list-client-app';

let temp: TempDir;
let homes = 0;

before(async () => {
  temp = await makeTempDir('bt-list-client-');
});

after(async () => {
  await temp.cleanup();
});

function snapshot(index: number): OperationSnapshot {
  return {
    guid: `op-${String(index).padStart(5, '0')}`,
    appId: APP_ID,
    method: 'PUT',
    requestedUri: `https://example.test/u/${index}`,
    sourcePath: `/data/${index}.bin`,
    group: null,
    transferGroup: null,
    costPolicy: 0,
    priority: 0,
    progress: {
      bytesSent: 4,
      totalBytesToSend: 4,
      bytesReceived: 0,
      totalBytesToReceive: 0,
      status: BackgroundTransferStatus.completed,
      hasResponseChanged: false,
      hasRestarted: false,
    },
    responseVersion: 1,
    response: { statusCode: 201, actualUri: `https://example.test/u/${index}`, isResumable: false, headers: [] },
    error: null,
    createdAtMs: 1_700_000_000_000 + index,
    contentDigest: null,
    direction: 'upload',
    resultPath: null,
  };
}

interface Request {
  method: string;
  params: { after?: { seq: number; guid: string } | null; limit?: number; form?: string };
}

/**
 * A host that answers hello and then each listPage from `pages` in turn (`next` is the cursor of the
 * page's last operation unless it is the last page), or refuses listPage as a host of an older release.
 * With `rows`, its hello offers rows1 (as a host that predates rows2) and a listPage that asks for it
 * gets rows; with `compact` too, it offers rows2 as well and answers a listPage that asks for it with
 * `rows2`. Without, it refuses a listPage that names a form, as a host that predates the form does.
 */
async function fakeHost(
  pages: unknown[][],
  options: { knowsListPage: boolean; rows?: boolean; compact?: boolean },
): Promise<{
  home: string;
  requests: Request[];
  close(): Promise<void>;
}> {
  const home = join(temp.path, `home-${homes++}`);
  mkdirSync(home, { mode: 0o700 });
  const requests: Request[] = [];
  const host = await startFakeHost(home, (frame): FakeHostAnswer => {
    const { method } = frame;
    const params = (frame.params ?? {}) as Request['params'];
    requests.push({ method, params });
    const offered = options.compact ? ['rows0', SNAPSHOT_ROW_FORM, COMPACT_ROW_FORM] : ['rows0', SNAPSHOT_ROW_FORM];
    const forms = options.rows ? { listForms: offered } : {};
    if (method === 'hello') {
      return {
        v: PROTOCOL_VERSION,
        ok: true,
        result: { protocolVersion: PROTOCOL_VERSION, pid: process.pid, home, ...forms },
      };
    }
    if (method === 'listPage' && params.form !== undefined && !options.rows) {
      return {
        v: PROTOCOL_VERSION,
        ok: false,
        error: { code: 'BT_ERR_INVALID_ARGUMENT', message: 'bad params for listPage' },
      };
    }
    if (method === 'listPage' && options.knowsListPage) {
      const index = requests.filter((request) => request.method === 'listPage').length - 1;
      const operations = pages[index] ?? [];
      const last = operations.at(-1) as { guid?: string } | undefined;
      const next = index < pages.length - 1 && last ? { seq: index, guid: last.guid } : null;
      const result =
        params.form === SNAPSHOT_ROW_FORM
          ? { appId: APP_ID, rows: operations.map(toRow), next }
          : params.form === COMPACT_ROW_FORM && options.compact
            ? { appId: APP_ID, rows2: operations.map(toCompactRow), next }
            : { operations, next };
      return { v: PROTOCOL_VERSION, ok: true, result };
    }
    if (method === 'list') return { v: PROTOCOL_VERSION, ok: true, result: pages.flat() };
    return {
      v: PROTOCOL_VERSION,
      ok: false,
      error: { code: 'BT_ERR_IPC_PROTOCOL', message: `unknown method "${method}"` },
    };
  });
  return { home, requests, close: () => host.close() };
}

function toRow(operation: unknown): unknown {
  return toSnapshotRow(operation as OperationSnapshot);
}

function toCompactRow(operation: unknown): unknown {
  return toSnapshotRow(operation as OperationSnapshot, COMPACT_ROW_FORM);
}

const range = (from: number, count: number): OperationSnapshot[] =>
  Array.from({ length: count }, (_, offset) => snapshot(from + offset));

test('list asks for pages of MAX_LIST_PAGE, each after the previous cursor, and returns them in order', async () => {
  const host = await fakeHost([range(0, 3), range(3, 3), range(6, 1)], { knowsListPage: true });
  const port = new SocketPort(host.home, { autoStart: false });
  try {
    const listed = await port.call('list', APP_ID, { filter: { kind: 'all' }, direction: 'upload' });
    assert.deepEqual(listed, range(0, 7));
    const pages = host.requests.filter((request) => request.method === 'listPage');
    assert.deepEqual(
      pages.map((request) => [request.params.after ?? null, request.params.limit]),
      [
        [null, MAX_LIST_PAGE],
        [{ seq: 0, guid: 'op-00002' }, MAX_LIST_PAGE],
        [{ seq: 1, guid: 'op-00005' }, MAX_LIST_PAGE],
      ],
    );
    // This host's hello offers no compact form: it is never asked for one.
    assert.ok(
      pages.every((request) => request.params.form === undefined),
      JSON.stringify(pages),
    );
  } finally {
    await port.close();
    await host.close();
  }
});

test('listPages (a reader that drops each page) asks for pages of STREAM_PAGE_SIZE and yields them in order', async () => {
  const host = await fakeHost([range(0, 3), range(3, 2)], { knowsListPage: true, rows: true, compact: true });
  const port = new SocketPort(host.home, { autoStart: false });
  try {
    const pages: string[][] = [];
    for await (const page of port.listPages(APP_ID, { filter: { kind: 'all' } })) {
      pages.push(page.map((snapshot) => snapshot.guid));
    }
    assert.deepEqual(
      pages,
      [range(0, 3), range(3, 2)].map((page) => page.map((snapshot) => snapshot.guid)),
    );
    const asked = host.requests.filter((request) => request.method === 'listPage');
    assert.deepEqual(
      asked.map((request) => request.params.limit),
      [STREAM_PAGE_SIZE, STREAM_PAGE_SIZE],
    );
    assert.ok(STREAM_PAGE_SIZE < MAX_LIST_PAGE);
  } finally {
    await port.close();
    await host.close();
  }
});

test('a host whose hello offers rows is asked for them, and the pages read as the same snapshots', async () => {
  const download = { ...snapshot(7), direction: 'download', resultPath: '/data/out.bin', isRandomAccessRequired: true };
  const pages = [
    range(0, 3),
    [...range(3, 2), { ...download, recoverableWebErrorStatuses: [], expectedContentDigest: null }],
  ];
  const host = await fakeHost(pages, { knowsListPage: true, rows: true });
  const port = new SocketPort(host.home, { autoStart: false });
  try {
    const listed = await port.call('list', APP_ID, { filter: { kind: 'all' } });
    assert.deepEqual(listed, pages.flat());
    const asked = host.requests.filter((request) => request.method === 'listPage');
    assert.deepEqual(
      asked.map((request) => request.params.form),
      [SNAPSHOT_ROW_FORM, SNAPSHOT_ROW_FORM],
    );
  } finally {
    await port.close();
    await host.close();
  }
});

test('a host that offers rows2 is asked for it: the same snapshots, headers read from their kept text', async () => {
  const answered = (index: number, actualUri: string, bodyTruncated?: boolean): OperationSnapshot => {
    const headers: Array<[string, string]> = [['x-Id', `r-${index}`]];
    const response = { statusCode: 201, actualUri, isResumable: false, headers };
    return {
      ...snapshot(index),
      responseVersion: 1,
      response: bodyTruncated === undefined ? response : { ...response, bodyTruncated },
    };
  };
  const pages = [
    [snapshot(0), answered(1, snapshot(1).requestedUri)],
    [answered(4, 'https://elsewhere.test/4'), answered(5, snapshot(5).requestedUri, true)],
  ];
  const host = await fakeHost(pages, { knowsListPage: true, rows: true, compact: true });
  const port = new SocketPort(host.home, { autoStart: false });
  try {
    const listed = await port.call('list', APP_ID, { filter: { kind: 'all' } });
    const asked = host.requests.filter((request) => request.method === 'listPage');
    assert.deepEqual(
      asked.map((request) => request.params.form),
      [COMPACT_ROW_FORM, COMPACT_ROW_FORM],
    );
    // The responses are CompactResponse objects: compared as JSON.stringify writes them.
    assert.deepEqual(JSON.parse(JSON.stringify(listed)), JSON.parse(JSON.stringify(pages.flat())));
    assert.deepEqual(listed[1]?.response?.headers, [['x-Id', 'r-1']]);
    assert.equal(listed[1]?.response?.actualUri, snapshot(1).requestedUri);
    assert.equal(listed[2]?.response?.actualUri, 'https://elsewhere.test/4');
    assert.equal(listed[3]?.response?.bodyTruncated, true);
  } finally {
    await port.close();
    await host.close();
  }
});

test('a broken snapshot in a later page fails the whole list with BT_ERR_IPC_PROTOCOL naming where', async () => {
  const broken = { ...snapshot(4), progress: { ...snapshot(4).progress, status: 99 } };
  const host = await fakeHost([range(0, 3), [snapshot(3), broken]], { knowsListPage: true });
  const port = new SocketPort(host.home, { autoStart: false });
  try {
    const error = await port.call('list', APP_ID, { filter: { kind: 'all' } }).then(
      () => assert.fail('a list with a broken snapshot succeeded'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof TransferError, String(error));
    assert.equal(error.code, 'BT_ERR_IPC_PROTOCOL');
    assert.match(error.message, /bad listPage result from the host/);
    assert.match(error.message, /operations\[1\]\.progress\.status: expected a BackgroundTransferStatus/);
  } finally {
    await port.close();
    await host.close();
  }
});

test('a host that predates listPage is asked for the single-reply list', async () => {
  const host = await fakeHost([range(0, 2), range(2, 2)], { knowsListPage: false });
  const port = new SocketPort(host.home, { autoStart: false });
  try {
    assert.deepEqual(await port.call('list', APP_ID, { filter: { kind: 'all' } }), range(0, 4));
    assert.deepEqual(
      host.requests.map((request) => request.method),
      ['hello', 'listPage', 'list'],
    );
  } finally {
    await port.close();
    await host.close();
  }
});

test('`bgtransfer list --json` prints the pages that arrived before a broken one, then the coded error', async () => {
  const broken = { ...snapshot(5), direction: 'sideways' };
  const host = await fakeHost([range(0, 3), range(3, 2), [broken]], { knowsListPage: true });
  try {
    const child = spawnNode([CLI, 'list', '--json', '--app', APP_ID], {
      env: { BGTRANSFER_HOME: host.home, BGTRANSFER_HOST: 'auto', BGTRANSFER_APP_ID: undefined },
    });
    const exit = await child.exited;
    assert.deepEqual(
      child.stdoutLines.map((line) => (JSON.parse(line) as { guid: string }).guid),
      range(0, 5).map((operation) => operation.guid),
      child.stderrLines.join('\n'),
    );
    assert.equal(exit.code, 3, child.stderrLines.join('\n'));
    assert.match(child.stderrLines.join('\n'), /operations\[0\]\.direction: .*\(BT_ERR_IPC_PROTOCOL\)/);
    const hello = host.requests.find((request) => request.method === 'hello') as unknown as {
      params: { appId: string };
    };
    assert.equal(hello.params.appId, APP_ID);
  } finally {
    await host.close();
  }
});
