import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BackgroundTransferStatus, BackgroundUploader } from '../../src/index.ts';
import { stopHost } from '../../src/ipc/host-control.ts';
import { type ApiHome, useApiHome } from '../helpers/api-home.ts';
import { headerOf } from '../helpers/ietf-input.ts';
import { type IetfTestServer, startIetfServer } from '../helpers/ietf-server.ts';
import { spawnNode } from '../helpers/process-tools.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';

/** BackgroundUploader.ietfInteropVersion, from the app through the socket host to the wire. */
const APP = fileURLToPath(new URL('../scripts/start-upload.ts', import.meta.url));
let draft: IetfTestServer;
let files: TempDir;
let source: RandomFile;
let home: ApiHome | undefined;

before(async () => {
  draft = await startIetfServer();
  files = await makeTempDir('ietf-api-');
  source = await writeRandomFile(files.path, 'body.bin', 300_003);
});
afterEach(async () => {
  await home?.cleanup();
  home = undefined;
});
after(async () => {
  await draft.close();
  await files.cleanup();
});

/** The interop versions the server saw on the requests for `path` and the upload resource they made. */
function versionsSeen(path: string): string[] {
  const creation = draft.requests.filter((request) => request.url === path);
  return creation.map((request) => headerOf(request.headers, 'upload-draft-interop-version') ?? 'none');
}

test('ietfInteropVersion: 6 by default, 8 accepted, anything else BT_ERR_INVALID_ARGUMENT when set', () => {
  const uploader = new BackgroundUploader();
  assert.equal(uploader.ietfInteropVersion, 6);
  uploader.ietfInteropVersion = 8;
  assert.equal(uploader.ietfInteropVersion, 8);
  for (const bad of [7, 9, 5, '8', null, 6.5]) {
    assert.throws(
      () => {
        // @ts-expect-error: the wrong types are the point
        uploader.ietfInteropVersion = bad;
      },
      (error: { code?: string }) => error.code === 'BT_ERR_INVALID_ARGUMENT',
      String(bad),
    );
  }
  assert.equal(uploader.ietfInteropVersion, 8, 'a refused value changes nothing');
});

test('in process: an uploader set to 8 speaks 8 on every request; the bytes arrive exactly', async () => {
  home = await useApiHome({}, 'ietf-api');
  const uploader = new BackgroundUploader();
  uploader.resumeProtocol = 'ietf';
  uploader.ietfInteropVersion = 8;
  const operation = uploader.createUpload(`${draft.url}/inproc`, source.path);
  await operation.startAsync();
  assert.equal(operation.progress.status, BackgroundTransferStatus.completed);
  assert.deepEqual(versionsSeen('/inproc'), ['8']);
  assert.equal(operation.getResponseInformation()?.isResumable, true);
  const stored = [...draft.uploads.values()].find((upload) => upload.complete && upload.length === source.size);
  assert.ok(stored, 'the server kept the upload resource');
  assert.equal(await draft.sha256(stored.id), source.sha256);
});

test('through the socket host: the version rides the start frame and the stored operation', async () => {
  const hostHome = join(files.path, 'host-home');
  const app = spawnNode(
    [APP, 'PUT', `${draft.url}/hosted`, source.path, '--resume-protocol=ietf', '--ietf-interop=8'],
    {
      env: { BGTRANSFER_HOME: hostHome, BGTRANSFER_HOST: 'auto', BGTRANSFER_APP_ID: 'ietf-host-app' },
    },
  );
  try {
    const line = await app.waitForLine(/^(completed|failed) /, 60_000);
    assert.equal(line, `completed ${BackgroundTransferStatus.completed}`);
    assert.deepEqual(versionsSeen('/hosted'), ['8']);
  } finally {
    await stopHost(hostHome).catch(() => false);
    app.kill('SIGTERM');
    await app.exited;
  }
});

test('resumeProtocol "ietf": a large upload without a 104 is created carefully and appended; "auto" does not wait', async () => {
  home = await useApiHome({}, 'ietf-api');
  const large = await writeRandomFile(files.path, 'large.bin', 17 * 1024 * 1024 + 5);
  const silent = await startIetfServer({ send104: false });
  try {
    const uploader = new BackgroundUploader();
    uploader.method = 'PUT';
    uploader.resumeProtocol = 'ietf';
    const operation = uploader.createUpload(`${silent.url}/careful`, large.path);
    await operation.startAsync();
    assert.equal(operation.progress.status, BackgroundTransferStatus.completed);
    assert.equal(operation.progress.bytesSent, large.size);
    const methods = silent.requests.map((request) => `${request.method} ${request.status}`);
    assert.deepEqual(methods, ['PUT 0', 'OPTIONS 204', 'PUT 201', 'PATCH 201']);
    const stored = [...silent.uploads.values()].find((upload) => upload.complete);
    assert.ok(stored);
    assert.equal(await silent.sha256(stored.id), large.sha256);

    silent.requests.length = 0;
    const auto = new BackgroundUploader();
    auto.method = 'PUT';
    const plain = auto.createUpload(`${silent.url}/auto`, large.path);
    await plain.startAsync();
    assert.equal(plain.progress.status, BackgroundTransferStatus.completed);
    // The tus probe, then the app's request sent at once: no wait, no second creation.
    assert.deepEqual(
      silent.requests.map((request) => `${request.method} ${request.status}`),
      ['OPTIONS 204', 'PUT 201'],
    );
  } finally {
    await silent.close();
  }
});

test('"auto", small bodies: a draft server that the OPTIONS probe took for plain is still found by its 104', async () => {
  // The probe's answer has no Tus-Version, so the origin is remembered as plain; every upload, however
  // small, must still carry the draft's headers, or a draft server would take it as a plain upload and
  // keep no upload resource (an upload it could never resume, and one the chaos run counted lost).
  home = await useApiHome({}, 'ietf-api');
  const uploader = new BackgroundUploader();
  assert.equal(uploader.resumeProtocol, 'auto');
  uploader.method = 'PUT';
  for (const [index, bytes] of [1024, 20_000, 61_386].entries()) {
    const small = await writeRandomFile(files.path, `small-${index}.bin`, bytes);
    const path = `/small-auto/${index}`;
    const operation = uploader.createUpload(`${draft.url}${path}`, small.path);
    await operation.startAsync();
    assert.equal(operation.progress.status, BackgroundTransferStatus.completed);
    const sent = draft.requests.filter((request) => request.url === path && request.method === 'PUT');
    assert.deepEqual(
      sent.map((request) => headerOf(request.headers, 'upload-draft-interop-version') ?? 'none'),
      ['6'],
      `upload ${index} carried the draft's headers`,
    );
    assert.equal(operation.getResponseInformation()?.isResumable, true, `upload ${index} is resumable`);
    const stored = [...draft.uploads.values()].find((upload) => upload.complete && upload.length === bytes);
    assert.ok(stored, `the server kept upload ${index} as a draft upload resource`);
    assert.equal(await draft.sha256(stored.id), small.sha256);
  }
  assert.ok(
    draft.requests.some((request) => request.method === 'OPTIONS'),
    'the origin was probed (and taken for plain)',
  );
});
