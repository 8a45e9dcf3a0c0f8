import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BackgroundTransferStatus, isTerminalStatus } from '../../src/core/enums.ts';
import type { OperationSnapshot } from '../../src/core/snapshot.ts';
import { stopHost } from '../../src/ipc/host-control.ts';
import { hostSocketPath, PROTOCOL_VERSION } from '../../src/ipc/protocol.ts';
import { SocketPort } from '../../src/ipc/socket-port.ts';
import { specFor } from '../helpers/host-bed.ts';
import { rawSession, request } from '../helpers/raw-socket.ts';
import { countConnectionRequests } from '../helpers/request-count.ts';
import { makeTempDir, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

/**
 * A watch ends with the final snapshot the host pushes (a final status never changes), and a client
 * the host told so at `hello` sends no `unwatch`: one request and one reply less per upload, which a
 * host running thousands of small uploads pays for each.
 */
const APP = 'watch-ends';
let temp: TempDir;
let server: UploadServer;
let home: string;

before(async () => {
  temp = await makeTempDir('bt-watch-ends-');
  server = await startUploadServer();
  home = join(temp.path, 'home');
});

after(async () => {
  await stopHost(home).catch(() => false);
  await server.close();
  await temp.cleanup();
});

test('the final snapshot ends the watch on both sides: no unwatch is sent, and the watch id is free again', async () => {
  const file = await writeRandomFile(temp.path, 'body.bin', 4096);
  const spec = specFor(APP, file, `${server.url}/u/1`);
  // Started through another connection: this port has no watch begun by the start (startWatches) and
  // sends a `watch` request of its own.
  const starter = new SocketPort(home);
  await starter.call('start', APP, { spec });
  await starter.close();
  const port = new SocketPort(home);
  try {
    // The port's own connection: every request it sends from here on is counted by method.
    const { sent, restore } = countConnectionRequests();
    try {
      const final = await new Promise<OperationSnapshot>((resolve) => {
        const stop = port.watch(APP, spec.guid, (snapshot) => {
          if (!isTerminalStatus(snapshot.progress.status)) return;
          stop();
          resolve(snapshot);
        });
      });
      assert.equal(final.progress.status, BackgroundTransferStatus.completed);
      // A reply to an unwatch would have come back long before this.
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      restore();
    }
    assert.equal(sent.get('watch'), 1);
    assert.equal(sent.get('unwatch') ?? 0, 0, JSON.stringify([...sent]));

    // Seen from a raw client: hello says so, and a watch of the completed upload ends with its one push,
    // so the same watch id can watch again at once.
    const raw = await rawSession(hostSocketPath(home), [
      request(1, 'hello', { protocolVersion: PROTOCOL_VERSION, appId: APP }),
      request(2, 'watch', { guid: spec.guid, watchId: 1 }),
      request(3, 'watch', { guid: spec.guid, watchId: 1 }),
    ]);
    assert.equal((raw.replies[0]?.result as { finalEndsWatch?: boolean } | undefined)?.finalEndsWatch, true);
    const replies = raw.replies.filter((reply) => reply.id !== undefined);
    assert.deepEqual(
      replies.map((reply) => [reply.id, reply.ok, reply.error?.code]),
      [
        [1, true, undefined],
        [2, true, undefined],
        [3, true, undefined],
      ],
    );
  } finally {
    await port.close();
  }
});
