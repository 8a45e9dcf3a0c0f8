import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BackgroundTransferStatus } from '../../src/core/enums.ts';
import { TransferError } from '../../src/core/errors.ts';
import type { OperationSnapshot } from '../../src/core/snapshot.ts';
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
  params: { after?: { seq: number; guid: string } | null; limit?: number };
}

/**
 * A host that answers hello and then each listPage from `pages` in turn (`next` is the cursor of the
 * page's last operation unless it is the last page), or refuses listPage as a host of an older release.
 */
async function fakeHost(
  pages: unknown[][],
  options: { knowsListPage: boolean },
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
    requests.push({ method, params: frame.params as Request['params'] });
    if (method === 'hello') {
      return { v: PROTOCOL_VERSION, ok: true, result: { protocolVersion: PROTOCOL_VERSION, pid: process.pid, home } };
    }
    if (method === 'listPage' && options.knowsListPage) {
      const index = requests.filter((request) => request.method === 'listPage').length - 1;
      const operations = pages[index] ?? [];
      const last = operations.at(-1) as { guid?: string } | undefined;
      const next = index < pages.length - 1 && last ? { seq: index, guid: last.guid } : null;
      return { v: PROTOCOL_VERSION, ok: true, result: { operations, next } };
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
