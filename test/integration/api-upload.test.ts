import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import {
  BackgroundTransferError,
  BackgroundTransferStatus,
  BackgroundUploader,
  StorageFile,
  type UploadOperation,
  WebErrorStatus,
} from '../../src/index.ts';
import { type ApiHome, readAll, useApiHome } from '../helpers/api-home.ts';
import { startNginx } from '../helpers/nginx.ts';
import { makeTempDir, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

/** Uploads through the public API and the in-process engine, to real loopback servers. */
let server: UploadServer;
let files: TempDir;
let home: ApiHome | undefined;

before(async () => {
  server = await startUploadServer();
  files = await makeTempDir('api-upload-');
});
afterEach(async () => {
  await home?.cleanup();
  home = undefined;
});
after(async () => {
  await server.close();
  await files.cleanup();
});

/** Plain HTTP (no tus/IETF negotiation): these tests count the requests a plain server sees. */
function uploader(method = 'PUT'): BackgroundUploader {
  const result = new BackgroundUploader();
  result.method = method;
  result.resumeProtocol = 'none';
  return result;
}

async function failureOf(
  operation: UploadOperation,
): Promise<{ code: string; number: number; webErrorStatus: number }> {
  try {
    await operation.startAsync();
  } catch (error) {
    return error as { code: string; number: number; webErrorStatus: number };
  }
  throw new Error('expected the upload to fail');
}

test('PUT and POST upload the file byte-exact; progress counts to the total; response kept (R36, R46)', async () => {
  home = await useApiHome();
  const source = await writeRandomFile(files.path, 'body.bin', 5 * 1024 * 1024 + 3);
  for (const method of ['PUT', 'POST']) {
    const seen: number[] = [];
    const operation = uploader(method).createUpload(`${server.url}/files/${method}`, source.path);
    assert.equal(operation.progress.status, BackgroundTransferStatus.idle);
    assert.equal(operation.progress.totalBytesToSend, source.size);
    await operation.startAsync().then(undefined, undefined, (op: UploadOperation) => seen.push(op.progress.bytesSent));
    const received = server.requests.at(-1);
    assert.equal(received?.method, method);
    assert.equal(received?.sha256, source.sha256);
    assert.equal(operation.progress.status, BackgroundTransferStatus.completed);
    assert.equal(operation.progress.bytesSent, source.size);
    assert.ok(
      seen.every((value, index) => index === 0 || value >= (seen[index - 1] ?? 0)),
      'progress never goes down',
    );
    const response = operation.getResponseInformation();
    assert.equal(response?.statusCode, 201);
    assert.equal(response, operation.getResponseInformation(), 'R41: the same object until a new response');
    assert.equal(response?.actualUri.absoluteUri, `${server.url}/files/${method}`);
    const body = JSON.parse(await readAll(operation.getResultStreamAt(0)));
    assert.equal(body.sha256, source.sha256);
    assert.equal(operation.progress.bytesReceived, Number(response?.headers.get('Content-Length')));
    assert.equal(operation.progress.totalBytesToReceive, operation.progress.bytesReceived);
    assert.equal((await readAll(operation.getResultStreamAt(5))).length, operation.progress.bytesReceived - 5);
  }
});

test('response headers keep the server case and are looked up case-sensitively (R45)', async () => {
  home = await useApiHome();
  server.route('/cased', () => ({ status: 200, headers: [['X-Custom-Case', 'Value 1']], body: 'ok' }));
  const source = await writeRandomFile(files.path, 'small.bin', 10);
  const operation = uploader().createUpload(`${server.url}/cased`, source.path);
  await operation.startAsync();
  const headers = operation.getResponseInformation()?.headers;
  assert.equal(headers?.get('X-Custom-Case'), 'Value 1');
  assert.equal(headers?.has('x-custom-case'), false);
  assert.ok([...(headers ?? [])].some(([name]) => name === 'X-Custom-Case'));
});

test('HTTP >= 400 ends in error with number 0x80190000+status, the response still readable (R43)', async () => {
  home = await useApiHome();
  server.route('/missing', () => ({ status: 404, body: 'no such place' }));
  const source = await writeRandomFile(files.path, 'e404.bin', 1000);
  const operation = uploader().createUpload(`${server.url}/missing`, source.path);
  const error = await failureOf(operation);
  assert.equal(error.code, 'BT_ERR_HTTP_STATUS');
  assert.equal(error.number, 0x80190194 | 0);
  assert.equal(BackgroundTransferError.getStatus(error.number), WebErrorStatus.notFound);
  assert.equal(error.webErrorStatus, WebErrorStatus.notFound);
  assert.equal(operation.progress.status, BackgroundTransferStatus.error);
  assert.equal(operation.getResponseInformation()?.statusCode, 404);
  assert.equal(await readAll(operation.getResultStreamAt(0)), 'no such place');
});

test('503 is retried with back-off and a restart from byte 0 (R38, R49); 500 after the last attempt fails', async () => {
  home = await useApiHome({ maxAttempts: 3, retryBaseDelayMs: 20 });
  let calls = 0;
  server.route('/flaky', () => {
    calls += 1;
    return calls < 3 ? { status: 503, body: 'busy' } : { status: 201, body: 'stored' };
  });
  const source = await writeRandomFile(files.path, 'flaky.bin', 256 * 1024);
  const restarts: boolean[] = [];
  const responses: Array<number | undefined> = [];
  const operation = uploader().createUpload(`${server.url}/flaky`, source.path);
  await operation.startAsync().then(undefined, undefined, (op: UploadOperation) => {
    if (op.progress.hasRestarted) restarts.push(true);
    // R39, R42: each new request brings new response information, flagged once.
    if (op.progress.hasResponseChanged) responses.push(op.getResponseInformation()?.statusCode);
  });
  assert.equal(calls, 3);
  assert.equal(restarts.length, 2, 'hasRestarted is true once per new request');
  assert.deepEqual(responses, [503, 503, 201]);
  assert.equal(
    server.requests.filter((r) => r.url === '/flaky').every((r) => r.sha256 === source.sha256),
    true,
  );
  assert.equal(operation.getResponseInformation()?.statusCode, 201);

  server.route('/down', () => ({ status: 500, body: 'broken' }));
  const failing = uploader().createUpload(`${server.url}/down`, source.path);
  const error = await failureOf(failing);
  assert.equal(error.number, 0x801901f4 | 0);
  assert.equal(server.requests.filter((r) => r.url === '/down').length, 3, 'R49: three attempts in all');
});

test('307 and 308 are followed with the body re-sent; actualUri is the final URI (R44)', async () => {
  home = await useApiHome();
  server.route('/old', () => ({ redirect: '/older', status: 308 }));
  server.route('/older', () => ({ redirect: '/new', status: 307 }));
  server.route('/new', (request) => ({ status: 201, body: `got ${request.bodyBytes}` }));
  const source = await writeRandomFile(files.path, 'redirect.bin', 300 * 1024);
  const operation = uploader().createUpload(`${server.url}/old`, source.path);
  await operation.startAsync();
  assert.equal(operation.getResponseInformation()?.actualUri.absoluteUri, `${server.url}/new`);
  assert.equal(operation.requestedUri.absoluteUri, `${server.url}/old`);
  assert.equal(server.requests.find((r) => r.url === '/new')?.sha256, source.sha256);
});

test('301/302/303 for a body-bearing request end in a clear error', async () => {
  home = await useApiHome();
  const source = await writeRandomFile(files.path, 'moved.bin', 1024);
  for (const status of [301, 302, 303]) {
    server.route(`/moved${status}`, () => ({ redirect: '/elsewhere', status }));
    const error = await failureOf(uploader().createUpload(`${server.url}/moved${status}`, source.path));
    assert.equal(error.code, 'BT_ERR_REDIRECT_NOT_ALLOWED');
    assert.equal(error.number, (0x80190000 + status) | 0);
  }
});

test('connection refused fails with cannotConnect and no response information (R43)', async () => {
  home = await useApiHome({ maxAttempts: 1 });
  const source = await writeRandomFile(files.path, 'refused.bin', 10);
  const operation = uploader().createUpload('http://127.0.0.1:1/nothing', source.path);
  const error = await failureOf(operation);
  assert.equal(error.code, 'BT_ERR_CANNOT_CONNECT');
  assert.equal(BackgroundTransferError.getStatus(error.number), WebErrorStatus.cannotConnect);
  assert.equal(operation.getResponseInformation(), null);
});

test('cancel() on the transfer promise cancels the transfer itself (R59, R60)', async () => {
  home = await useApiHome();
  // Larger than what loopback socket buffers hold, so the cut is visible at the server.
  const slow = await startUploadServer({ throttleBytesPerSecond: 8 * 1024 * 1024 });
  try {
    const source = await writeRandomFile(files.path, 'cancel.bin', 64 * 1024 * 1024);
    const operation = uploader().createUpload(`${slow.url}/slow`, source.path);
    const promise = operation.startAsync();
    await slow.waitForRequest((r) => r.bodyBytes > 100_000);
    promise.cancel();
    await assert.rejects(promise, { code: 'BT_ERR_CANCELED', name: 'Canceled' });
    assert.equal(operation.progress.status, BackgroundTransferStatus.canceled);
    const request = await slow.waitForRequest((r) => r.aborted, 15_000);
    assert.equal(request.complete, false);
    assert.ok(request.bodyBytes < source.size);
    const [listed] = await BackgroundUploader.getCurrentUploadsAsync();
    assert.equal(listed?.progress.status, BackgroundTransferStatus.canceled);
  } finally {
    await slow.close();
  }
});

test('a file that changes size during the upload ends in BT_ERR_SOURCE_CHANGED, never a corrupt upload', async () => {
  home = await useApiHome({ maxAttempts: 1 });
  const slow = await startUploadServer({ throttleBytesPerSecond: 8 * 1024 * 1024 });
  try {
    // Larger than the loopback socket buffers, so the file is still being read when it changes.
    const source = await writeRandomFile(files.path, 'growing.bin', 64 * 1024 * 1024);
    const operation = uploader().createUpload(`${slow.url}/grow`, source.path);
    const promise = operation.startAsync();
    await slow.waitForRequest((r) => r.bodyBytes > 64 * 1024);
    const { appendFile } = await import('node:fs/promises');
    await appendFile(source.path, Buffer.alloc(4096, 1));
    await assert.rejects(promise, { code: 'BT_ERR_SOURCE_CHANGED' });
    const request = await slow.waitForRequest((r) => r.url === '/grow' && (r.aborted || r.complete), 15_000);
    assert.equal(request.complete, false, 'the server never saw a complete body');
  } finally {
    await slow.close();
  }
});

test('enumeration: ungrouped, legacy group and transfer group are separate (R22–R24); startAsync twice fails (R3)', async () => {
  home = await useApiHome();
  const source = await writeRandomFile(files.path, 'enum.bin', 100);
  const plain = uploader().createUpload(`${server.url}/e1`, source.path);
  const legacy = uploader();
  legacy.group = 'legacy-group';
  const grouped = uploader();
  const { BackgroundTransferGroup } = await import('../../src/index.ts');
  grouped.transferGroup = BackgroundTransferGroup.createGroup('photos');
  const a = legacy.createUpload(`${server.url}/e2`, source.path);
  const b = grouped.createUpload(`${server.url}/e3`, source.path);
  await Promise.all([plain.startAsync(), a.startAsync(), b.startAsync()]);
  const ungrouped = await BackgroundUploader.getCurrentUploadsAsync();
  assert.deepEqual(
    ungrouped.map((op) => op.guid),
    [plain.guid],
  );
  assert.deepEqual(
    (await BackgroundUploader.getCurrentUploadsAsync('legacy-group')).map((op) => op.guid),
    [a.guid],
  );
  const inGroup = await BackgroundUploader.getCurrentUploadsForTransferGroupAsync(
    BackgroundTransferGroup.createGroup('photos'),
  );
  assert.deepEqual(
    inGroup.map((op) => op.guid),
    [b.guid],
  );
  assert.equal(inGroup[0]?.transferGroup?.name, 'photos');
  assert.equal(inGroup[0]?.sourceFile?.path, source.path);

  await assert.rejects(plain.startAsync(), { code: 'BT_ERR_ILLEGAL_STATE', number: 0x8000000e | 0 });
  await assert.rejects(ungrouped[0]!.startAsync(), { code: 'BT_ERR_ILLEGAL_STATE' });
  const fresh = uploader().createUpload(`${server.url}/e4`, source.path);
  await assert.rejects(fresh.attachAsync(), { code: 'BT_ERR_ILLEGAL_STATE' });
});

test('bad input is refused with a coded error before anything is queued', async () => {
  home = await useApiHome();
  const source = await writeRandomFile(files.path, 'input.bin', 10);
  const up = uploader();
  assert.throws(() => up.createUpload('relative/path', source.path), { code: 'BT_ERR_INVALID_URI' });
  assert.throws(() => up.createUpload('mailto:someone@example.test', source.path), {
    code: 'BT_ERR_UNSUPPORTED_SCHEME',
  });
  assert.throws(() => up.createUpload(`${server.url}/x`, join(files.path, 'absent.bin')), {
    code: 'BT_ERR_FILE_NOT_FOUND',
    number: 0x80070002 | 0,
  });
  assert.throws(() => up.createUpload(`${server.url}/x`, files.path), { code: 'BT_ERR_NOT_A_FILE' });
  assert.throws(() => up.setRequestHeader('X-Evil', 'a\r\nHost: other'), { code: 'BT_ERR_INVALID_HEADER' });
  assert.throws(() => up.setRequestHeader('Bad:Name', 'v'), { code: 'BT_ERR_INVALID_HEADER' });
  assert.throws(
    () => {
      up.method = 'GE T';
    },
    { code: 'BT_ERR_INVALID_METHOD' },
  );
  await assert.rejects(StorageFile.getFileFromPathAsync(join(files.path, 'nope')), { code: 'BT_ERR_FILE_NOT_FOUND' });
  // A file removed between createUpload and startAsync is refused at start, and nothing is stored.
  const doomed = await writeRandomFile(files.path, 'doomed.bin', 10);
  const operation = up.createUpload(`${server.url}/x`, doomed.path);
  const { rm } = await import('node:fs/promises');
  await rm(doomed.path);
  await assert.rejects(operation.startAsync(), { code: 'BT_ERR_FILE_NOT_FOUND' });
  assert.equal((await BackgroundUploader.getCurrentUploadsAsync()).length, 0);
});

test('R64: headers set on the operation before start are sent; R63 joins repeats', async () => {
  home = await useApiHome();
  const source = await writeRandomFile(files.path, 'headers.bin', 10);
  const up = uploader();
  up.setRequestHeader('X-Tag', 'one');
  up.setRequestHeader('X-Tag', 'two');
  const operation = up.createUpload(`${server.url}/headers`, source.path);
  operation.setRequestHeader('X-Op', 'yes');
  operation.setRequestHeader('X-Gone', 'no');
  operation.removeRequestHeader('X-Gone');
  await operation.startAsync();
  const headers = server.requests.at(-1)?.headers ?? [];
  assert.ok(headers.some(([name, value]) => name === 'X-Tag' && value === 'one, two'));
  assert.ok(headers.some(([name, value]) => name === 'X-Op' && value === 'yes'));
  assert.ok(!headers.some(([name]) => name === 'X-Gone'));
});

test('WebDAV PUT to Debian nginx lands the exact file', async () => {
  home = await useApiHome();
  const nginx = await startNginx();
  try {
    const source = await writeRandomFile(files.path, 'dav.bin', 7 * 1024 * 1024 + 11);
    const operation = uploader('PUT').createUpload(`${nginx.davUrl}deep/dir/dav.bin`, source.path);
    await operation.startAsync();
    assert.equal(operation.getResponseInformation()?.statusCode, 201);
    const stored = await readFile(join(nginx.root, 'deep/dir/dav.bin'));
    assert.equal(createHash('sha256').update(stored).digest('hex'), source.sha256);
  } finally {
    await nginx.stop();
  }
});
