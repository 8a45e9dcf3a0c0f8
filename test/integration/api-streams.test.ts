import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, afterEach, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  BackgroundTransferCompletionGroup,
  BackgroundTransferStatus,
  BackgroundUploader,
  type UploadOperation,
} from '../../src/index.ts';
import { stopHost } from '../../src/ipc/host-control.ts';
import { SocketPort } from '../../src/ipc/socket-port.ts';
import { type ApiHome, useApiHome } from '../helpers/api-home.ts';
import { deferred } from '../helpers/deferred.ts';
import { spawnNode } from '../helpers/process-tools.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { hashReply, startUploadServer, type UploadServer } from '../helpers/upload-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

/**
 * Stream uploads through the public API (createUploadFromStreamAsync) from a Node Readable and a web
 * ReadableStream, whose spool file lives under BGTRANSFER_HOME/spool exactly as long as the upload —
 * also when the app exits and the transfer host finishes the upload alone.
 */

const STREAM_APP = fileURLToPath(new URL('../scripts/stream-app.ts', import.meta.url));

let files: TempDir;
let uploads: UploadServer;
let home: ApiHome | undefined;
let tiny: RandomFile;

before(async () => {
  files = await makeTempDir('bgtransfer-api-streams-');
  tiny = await writeRandomFile(files.path, 'tiny.bin', 13);
  uploads = await startUploadServer();
});
afterEach(async () => {
  await home?.cleanup();
  home = undefined;
});
after(async () => {
  await uploads.close();
  await files.cleanup();
});

function spoolFiles(homeDir: string): string[] {
  const dir = join(homeDir, 'spool');
  return existsSync(dir) ? readdirSync(dir).map((name) => join(dir, name)) : [];
}

/** Random content handed out in uneven chunks (1 byte … 100 KiB). */
function content(size: number): { bytes: Buffer; sha256: string; chunks(): Buffer[] } {
  const bytes = randomBytes(size);
  return {
    bytes,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    chunks() {
      const out: Buffer[] = [];
      for (let offset = 0; offset < size; ) {
        const length = Math.min(size - offset, 1 + ((offset * 7919) % 100_000));
        out.push(bytes.subarray(offset, offset + length));
        offset += length;
      }
      return out;
    },
  };
}

test('stream from a Node Readable: byte-exact; the spool file exists while queued and is removed after completion', async () => {
  home = await useApiHome({ maxConcurrentTransfers: 1 }, 'content-node-stream');
  const gate = deferred();
  uploads.route('/stream/blocker', async (request) => {
    if (request.method !== 'OPTIONS') await gate.promise;
    return hashReply(request);
  });
  const blocker = new BackgroundUploader().createUpload(`${uploads.url}/stream/blocker`, tiny.path);
  const blocking = Promise.resolve(blocker.startAsync());
  await uploads.waitForRequest((request) => request.url === '/stream/blocker' && request.method === 'POST');

  const data = content(3 * 1024 * 1024 + 123);
  const uploader = new BackgroundUploader();
  uploader.method = 'PUT';
  const operation = await uploader.createUploadFromStreamAsync(
    `${uploads.url}/stream/node`,
    Readable.from(data.chunks()),
  );
  assert.equal(operation.sourceFile, null);
  assert.equal(operation.progress.totalBytesToSend, data.bytes.length);
  const [spool] = spoolFiles(home.home);
  assert.ok(spool, 'the stream was spooled under BGTRANSFER_HOME/spool');
  assert.equal(statSync(spool).size, data.bytes.length);
  assert.equal(statSync(spool).mode & 0o777, 0o600);

  const done = Promise.resolve(operation.startAsync());
  const stored = await storedStatus(operation.guid);
  assert.equal(stored, BackgroundTransferStatus.idle, 'queued behind the blocker');
  assert.ok(existsSync(spool), 'the spool file is there while the upload is queued');

  gate.resolve();
  await blocking;
  await done;
  const request = uploads.requests.find((entry) => entry.url === '/stream/node' && entry.method === 'PUT');
  assert.equal(request?.sha256, data.sha256);
  assert.equal(
    request?.headers.find(([name]) => name.toLowerCase() === 'content-length')?.[1],
    String(data.bytes.length),
  );
  assert.equal(operation.getResponseInformation()?.statusCode, 201);
  await waitFor('the spool file to be removed', () => !existsSync(spool), 5_000);
  assert.deepEqual(spoolFiles(home.home), []);
});

test('stream from a web ReadableStream: byte-exact; a canceled stream upload removes its spool file too', async () => {
  home = await useApiHome({}, 'content-web-stream');
  const data = content(2 * 1024 * 1024 + 5);
  const webStream = (chunks: Buffer[]) =>
    new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(new Uint8Array(next));
        else controller.close();
      },
    });
  const uploader = new BackgroundUploader();
  uploader.method = 'PUT';
  const operation = await uploader.createUploadFromStreamAsync(`${uploads.url}/stream/web`, webStream(data.chunks()));
  const [spool] = spoolFiles(home.home);
  assert.ok(spool);
  await operation.startAsync();
  assert.equal(
    uploads.requests.find((entry) => entry.url === '/stream/web' && entry.method === 'PUT')?.sha256,
    data.sha256,
  );
  await waitFor('the spool file to be removed', () => !existsSync(spool), 5_000);

  const gate = deferred();
  uploads.route('/stream/cancel', async (request) => {
    if (request.method !== 'OPTIONS') await gate.promise;
    return hashReply(request);
  });
  const other = content(512 * 1024);
  const canceled = await uploader.createUploadFromStreamAsync(
    `${uploads.url}/stream/cancel`,
    webStream(other.chunks()),
  );
  const [canceledSpool] = spoolFiles(home.home);
  assert.ok(canceledSpool);
  const promise = canceled.startAsync();
  await uploads.waitForRequest((request) => request.url === '/stream/cancel' && request.method === 'PUT');
  promise.cancel();
  await assert.rejects(Promise.resolve(promise), { code: 'BT_ERR_CANCELED' });
  gate.resolve();
  assert.equal(canceled.progress.status, BackgroundTransferStatus.canceled);
  await waitFor('the canceled upload’s spool file to be removed', () => !existsSync(canceledSpool), 5_000);
  assert.deepEqual(spoolFiles(home.home), []);
});

test('a stream refused by an enabled completion group (R80) leaves no spool file behind', async () => {
  home = await useApiHome({}, 'content-refused-stream');
  const group = new BackgroundTransferCompletionGroup({ command: process.execPath, args: ['-e', ''] });
  const uploader = new BackgroundUploader(group);
  group.enable();
  await group.enabled;
  const data = content(64 * 1024);
  await assert.rejects(
    uploader.createUploadFromStreamAsync(`${uploads.url}/stream/refused`, Readable.from(data.chunks())),
    {
      code: 'BT_ERR_ILLEGAL_STATE',
    },
  );
  assert.deepEqual(spoolFiles(home.home), [], 'nobody owns that spool file: it must not stay on disk');
});

test('a stream upload survives its app: the app exits right after the start; a second app attaches and it completes', async () => {
  home = await useApiHome({}, 'content-survive');
  const hostHome = join(home.dir, 'host-home');
  const source = await writeRandomFile(files.path, 'survive.bin', 2 * 1024 * 1024 + 11);
  const gate = deferred();
  uploads.route('/stream/survive', async (request) => {
    if (request.method !== 'OPTIONS') await gate.promise;
    return hashReply(request);
  });
  // The host is started by this process, so that it is this process's child and is reaped when stopped.
  const starter = new SocketPort(hostHome);
  await starter.status('content-survive');
  await starter.close();
  const env = { BGTRANSFER_HOME: hostHome, BGTRANSFER_HOST: 'auto', BGTRANSFER_APP_ID: 'content-survive' };
  try {
    const first = spawnNode([STREAM_APP, 'start', `${uploads.url}/stream/survive`, source.path], { env });
    const started = JSON.parse((await first.waitForLine(/^STARTED /, 20_000)).slice('STARTED '.length)) as {
      guid: string;
      totalBytesToSend: number;
    };
    assert.deepEqual(await first.exited, { code: 0, signal: null });
    assert.equal(started.totalBytesToSend, source.size);
    const spooled = spoolFiles(hostHome);
    assert.equal(spooled.length, 1, 'the spool file is under the host’s BGTRANSFER_HOME/spool');
    // The upload goes on without the app: the host is sending it.
    await uploads.waitForRequest((request) => request.url === '/stream/survive' && request.complete, 10_000);
    gate.resolve();

    const second = spawnNode([STREAM_APP, 'attach', started.guid], { env });
    const done = JSON.parse((await second.waitForLine(/^(DONE|FAILED) /, 20_000)).replace(/^DONE /, '')) as {
      status: number;
      statusCode: number;
      bytesSent: number;
    };
    assert.deepEqual(done, { status: BackgroundTransferStatus.completed, statusCode: 201, bytesSent: source.size });
    assert.equal((await second.exited).code, 0);
    const requests = uploads.requests.filter((request) => request.url === '/stream/survive');
    assert.equal(requests.length, 1);
    assert.equal(requests[0]?.sha256, source.sha256);
    await waitFor('the spool file to be removed', () => spoolFiles(hostHome).length === 0, 5_000);
  } finally {
    await stopHost(hostHome);
  }
});

async function storedStatus(guid: string): Promise<number | undefined> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const found = [...(await BackgroundUploader.getCurrentUploadsAsync())].find(
      (op: UploadOperation) => op.guid === guid,
    );
    if (found) return found.progress.status;
    if (Date.now() > deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
