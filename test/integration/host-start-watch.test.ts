import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BackgroundTransferStatus, isTerminalStatus } from '../../src/core/enums.ts';
import type { OperationSnapshot } from '../../src/core/snapshot.ts';
import { stopHost } from '../../src/ipc/host-control.ts';
import { hostSocketPath, PROTOCOL_VERSION } from '../../src/ipc/protocol.ts';
import { SocketPort } from '../../src/ipc/socket-port.ts';
import { specFor } from '../helpers/host-bed.ts';
import { type RawFrame as Frame, RawClient, request } from '../helpers/raw-socket.ts';
import { countConnectionRequests } from '../helpers/request-count.ts';
import { makeTempDir, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

/**
 * A `start` that carries its `watchId` (the host offers it at `hello` as startWatches) is the start and
 * its watch in one request: the reply's snapshot is the watch's current one, and the host pushes only
 * what changes after it. A host running thousands of small uploads saves the watch request, its reply
 * and the push of the current snapshot per upload (docs/performance.md, "Host: many small uploads").
 */
const APP = 'start-watch';
let temp: TempDir;
let server: UploadServer;
let home: string;

before(async () => {
  temp = await makeTempDir('bt-start-watch-');
  server = await startUploadServer();
  home = join(temp.path, 'home');
  // Starts the host for the raw sessions below.
  const port = new SocketPort(home);
  await port.status(APP);
  await port.close();
});

after(async () => {
  await stopHost(home).catch(() => false);
  await server.close();
  await temp.cleanup();
});

const replyTo = (id: number) => (frames: Frame[]) => frames.some((frame) => frame.id === id);
function reply(client: RawClient, id: number): Frame {
  const found = client.frames.find((frame) => frame.id === id);
  assert.ok(found, `no reply to request ${id}`);
  return found;
}

test('hello offers startWatches; a start with its watchId is answered once, then only changes are pushed, ending with the final one', async () => {
  const file = await writeRandomFile(temp.path, 'raw.bin', 4096);
  const spec = specFor(APP, file, `${server.url}/u/raw`);
  const client = new RawClient(hostSocketPath(home));
  try {
    client.send(
      request(1, 'hello', { protocolVersion: PROTOCOL_VERSION, appId: APP }),
      request(2, 'start', { spec, watchId: 7 }),
    );
    const ended = (frames: Frame[]) =>
      frames.some((frame) => frame.push !== undefined && isTerminalStatus(frame.snapshot?.progress.status ?? 0));
    await client.until(ended, 'final push');
    assert.equal((reply(client, 1).result as { startWatches?: boolean }).startWatches, true);
    const started = reply(client, 2);
    assert.equal(started?.ok, true, JSON.stringify(started));
    const answered = started?.result as OperationSnapshot;
    assert.equal(answered.guid, spec.guid);

    const replies = client.frames.filter((frame) => frame.push === undefined);
    const pushes = client.frames.filter((frame) => frame.push !== undefined);
    // Two requests, two replies: no watch request and reply.
    assert.deepEqual(
      replies.map((frame) => frame.id),
      [1, 2],
    );
    // Every push is under the start's watch id and comes after the reply.
    assert.ok(client.frames.indexOf(started as Frame) < client.frames.indexOf(pushes[0] as Frame));
    assert.ok(pushes.every((frame) => frame.watchId === 7 && frame.snapshot?.guid === spec.guid));
    // The reply's snapshot is not pushed again: the first push is a change.
    assert.notDeepEqual(pushes[0]?.snapshot, answered);
    assert.equal(pushes.at(-1)?.snapshot?.progress.status, BackgroundTransferStatus.completed);
    assert.equal(pushes.at(-1)?.snapshot?.progress.bytesSent, 4096);

    // The final push ended the watch: its id is free again, and a start sent once more (after a lost
    // reply, say) is answered with the final snapshot and leaves no watch behind.
    client.send(request(3, 'start', { spec, watchId: 7 }), request(4, 'watch', { guid: spec.guid, watchId: 7 }));
    await client.until(replyTo(4), 'reply to the second watch');
    assert.equal((reply(client, 3).result as OperationSnapshot).progress.status, BackgroundTransferStatus.completed);
    assert.equal(reply(client, 4)?.ok, true, JSON.stringify(reply(client, 4)));
  } finally {
    client.close();
  }
});

test('a start whose watchId is in use, or that is refused, stores nothing and starts no watch', async () => {
  const file = await writeRandomFile(temp.path, 'refused.bin', 4096);
  const stalled = specFor(APP, file, `${server.url}/u/refused-1`);
  const taken = specFor(APP, file, `${server.url}/u/refused-2`);
  const client = new RawClient(hostSocketPath(home));
  try {
    client.send(
      request(1, 'hello', { protocolVersion: PROTOCOL_VERSION, appId: APP }),
      // Another app's id in the spec: refused.
      request(2, 'start', { spec: { ...stalled, appId: 'someone-else' }, watchId: 5 }),
      // The same watch id is free: the refused start began no watch.
      request(3, 'start', { spec: taken, watchId: 5 }),
      // Now it is in use (unless the upload already ended): a start naming it is refused, nothing stored.
      request(4, 'start', { spec: stalled, watchId: 5 }),
      request(5, 'get', { guid: stalled.guid }),
    );
    await client.until(replyTo(5), 'reply to get');
    assert.equal(reply(client, 2)?.error?.code, 'BT_ERR_INVALID_ARGUMENT');
    assert.equal(reply(client, 3)?.ok, true, JSON.stringify(reply(client, 3)));
    const fourth = reply(client, 4);
    const takenEnded = client.frames.some(
      (frame) => frame.watchId === 5 && isTerminalStatus(frame.snapshot?.progress.status ?? 0),
    );
    // The upload of request 3 ending before request 4 was read (a fast machine) frees the id; else refused.
    if (fourth?.ok) assert.ok(takenEnded);
    else {
      assert.equal(fourth?.error?.code, 'BT_ERR_INVALID_ARGUMENT');
      assert.equal(reply(client, 5)?.error?.code, 'BT_ERR_NOT_FOUND');
    }
  } finally {
    client.close();
  }
});

test('through SocketPort a start and the watch that follows it are one request: no watch, no unwatch', async () => {
  const file = await writeRandomFile(temp.path, 'port.bin', 4096);
  const spec = specFor(APP, file, `${server.url}/u/port`);
  const port = new SocketPort(home);
  await port.status(APP); // connected before counting
  const { sent, restore } = countConnectionRequests();
  try {
    const answered = await port.call('start', APP, { spec });
    const seen: OperationSnapshot[] = [];
    const final = await new Promise<OperationSnapshot>((resolve) => {
      const stop = port.watch(APP, spec.guid, (snapshot) => {
        seen.push(snapshot);
        if (!isTerminalStatus(snapshot.progress.status)) return;
        stop();
        resolve(snapshot);
      });
    });
    assert.equal(final.progress.status, BackgroundTransferStatus.completed);
    // The listener heard first of the operation the start stored, as from a watch request.
    assert.equal(seen[0]?.guid, answered.guid);
    // An unwatch or a watch reply would have come back long before this.
    await new Promise((resolve) => setTimeout(resolve, 500));
  } finally {
    restore();
    await port.close();
  }
  assert.deepEqual([...sent], [['start', 1]]);
});
