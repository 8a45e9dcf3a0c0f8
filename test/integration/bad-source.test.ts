import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BackgroundTransferContentPart } from '../../src/api/background-transfer-content-part.ts';
import { BackgroundUploader } from '../../src/api/background-uploader.ts';
import { BackgroundTransferStatus } from '../../src/core/enums.ts';
import { readFileBody } from '../../src/source/file-source.ts';
import { type ApiHome, useApiHome } from '../helpers/api-home.ts';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

/**
 * Sources that would upload something other than what they hold, against a real server: a file whose
 * size reads as 0 but that yields bytes (/proc), and a file part that contains the app's multipart
 * boundary. Both used to report completed; both must fail with a coded error instead.
 */

/** The engine reads files in 64 KiB chunks: a delimiter placed across that edge spans two chunks. */
const CHUNK_EDGE = 64 * 1024;
const BOUNDARY = 'XyZ-boundary';

let temp: TempDir;
let server: UploadServer;
let home: ApiHome | undefined;

before(async () => {
  temp = await makeTempDir('bt-bad-source-');
  server = await startUploadServer();
});

after(async () => {
  await home?.cleanup();
  await server.close();
  await temp.cleanup();
});

async function codeOf(work: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await work();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

test('a file whose size reads as 0 but that yields bytes (/proc/self/status) is not uploaded as 0 bytes', async () => {
  home = await useApiHome({}, 'proc-source');
  const uploader = new BackgroundUploader();
  uploader.method = 'PUT';
  const code = await codeOf(async () => {
    const operation = uploader.createUpload(`${server.url}/proc`, '/proc/self/status');
    await operation.startAsync();
  });
  assert.equal(code, 'BT_ERR_SOURCE_CHANGED');
  assert.deepEqual(
    server.requests.filter((request) => request.url === '/proc' && request.method === 'PUT' && request.complete),
    [],
    'no empty body reached the server as the file',
  );
  await home.cleanup();
  home = undefined;
});

test('reading a recorded source that yields more than its recorded size fails with BT_ERR_SOURCE_CHANGED', async () => {
  const stats = statSync('/proc/self/status');
  const source = { path: '/proc/self/status', size: 0, mtimeMs: stats.mtimeMs, ino: stats.ino };
  const code = await codeOf(async () => {
    for await (const _chunk of readFileBody(source)) {
      // drain
    }
  });
  assert.equal(code, 'BT_ERR_SOURCE_CHANGED');
});

test('an app-chosen boundary inside a file part (across a chunk edge) fails the upload; the server never gets a whole body', async () => {
  home = await useApiHome({}, 'boundary-in-file');
  const path = join(temp.path, 'holds-the-boundary.bin');
  const delimiter = Buffer.from(`\r\n--${BOUNDARY}`);
  const content = randomBytes(3 * CHUNK_EDGE);
  delimiter.copy(content, CHUNK_EDGE - 4);
  writeFileSync(path, content);
  const part = new BackgroundTransferContentPart('file', 'holds-the-boundary.bin');
  part.setFile(path);
  const note = new BackgroundTransferContentPart('note');
  note.setText('before the file');

  const operation = await new BackgroundUploader().createUploadAsync(
    `${server.url}/multipart`,
    [note, part],
    'form-data',
    BOUNDARY,
  );
  const code = await codeOf(() => operation.startAsync());
  assert.equal(code, 'BT_ERR_BOUNDARY_IN_CONTENT');
  assert.equal(operation.progress.status, BackgroundTransferStatus.error);
  assert.deepEqual(
    server.requests.filter((request) => request.url === '/multipart' && request.method === 'POST' && request.complete),
    [],
    'the body was cut short, so the server cannot take it for a complete form',
  );
  await home.cleanup();
  home = undefined;
});

test('a text part containing the boundary is refused when the upload is created', async () => {
  home = await useApiHome({}, 'boundary-in-text');
  const part = new BackgroundTransferContentPart('note');
  part.setText(`first line\r\n--${BOUNDARY}\r\nlooks like a new part`);
  const code = await codeOf(() =>
    new BackgroundUploader().createUploadAsync(`${server.url}/text`, [part], 'form-data', BOUNDARY),
  );
  assert.equal(code, 'BT_ERR_INVALID_ARGUMENT');
  await home.cleanup();
  home = undefined;
});
