import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { BackgroundTransferContentPart, BackgroundTransferStatus, BackgroundUploader } from '../../src/index.ts';
import { type ApiHome, useApiHome } from '../helpers/api-home.ts';
import { type MultipartServer, startMultipartServer } from '../helpers/multipart-server.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';

/**
 * Multipart uploads through the public API (createUploadAsync, R68–R72) to a node:http server that
 * parses them with busboy and keeps the raw bytes.
 */

let files: TempDir;
let multipartServer: MultipartServer;
let home: ApiHome | undefined;
let big: RandomFile;
let medium: RandomFile;
let tiny: RandomFile;

before(async () => {
  files = await makeTempDir('bgtransfer-api-multipart-');
  [big, medium, tiny] = await Promise.all([
    writeRandomFile(files.path, 'big.bin', 1024 * 1024 + 7),
    writeRandomFile(files.path, 'medium.bin', 65_536),
    writeRandomFile(files.path, 'tiny.bin', 13),
  ]);
  multipartServer = await startMultipartServer();
});
afterEach(async () => {
  await home?.cleanup();
  home = undefined;
});
after(async () => {
  await multipartServer.close();
  await files.cleanup();
});

test('multipart/form-data (R69, R71, R72): three files and text parts arrive byte-exact; totalBytesToSend = bytes read = Content-Length', async () => {
  home = await useApiHome({}, 'content-multipart');
  const parts: BackgroundTransferContentPart[] = [];
  const sources = [big, medium, tiny];
  sources.forEach((file, index) => {
    // The sample's naming (R71): "File" + index, the leaf name as fileName.
    const part = new BackgroundTransferContentPart(`File${index}`, `name-${index}.bin`);
    part.setFile(file.path);
    parts.push(part);
  });
  const title = new BackgroundTransferContentPart('title');
  title.setText('Grüße aus dem Test ✓ — 日本語');
  const notes = new BackgroundTransferContentPart('notes');
  notes.setHeader('Content-Type', 'text/plain; charset=utf-8');
  notes.setText('line one\r\nline two\n\ttabbed "quoted"');
  parts.push(title, notes);

  const uploader = new BackgroundUploader();
  const operation = await uploader.createUploadAsync(`${multipartServer.url}/form`, parts);
  assert.equal(operation.sourceFile, null);
  const total = operation.progress.totalBytesToSend;
  await operation.startAsync();

  const received = multipartServer.last('/form');
  assert.equal(received.method, 'POST');
  assert.match(received.contentType, /^multipart\/form-data; boundary=\S+$/);
  assert.equal(received.transferEncoding, undefined, 'sent with a length, not chunked');
  assert.equal(received.contentLength, received.raw.length, 'Content-Length is the exact body length');
  assert.equal(total, received.raw.length, 'R72: totalBytesToSend counts the whole encoded body');
  assert.equal(operation.progress.bytesSent, total);
  assert.equal(operation.progress.status, BackgroundTransferStatus.completed);

  const form = received.form;
  assert.ok(form, 'busboy parsed the body');
  assert.deepEqual(
    form.files.map((file) => [file.field, file.fileName, file.mimeType, file.size, file.sha256]),
    sources.map((file, index) => [
      `File${index}`,
      `name-${index}.bin`,
      'application/octet-stream',
      file.size,
      file.sha256,
    ]),
  );
  assert.deepEqual(form.fields, [
    { name: 'title', value: 'Grüße aus dem Test ✓ — 日本語', mimeType: 'text/plain' },
    { name: 'notes', value: 'line one\r\nline two\n\ttabbed "quoted"', mimeType: 'text/plain' },
  ]);
  // R72 framing: delimiter first, close delimiter last.
  const boundary = received.contentType.replace(/^.*boundary=/, '');
  assert.ok(received.raw.subarray(0, boundary.length + 4).equals(Buffer.from(`--${boundary}\r\n`)));
  assert.ok(received.raw.toString('latin1').endsWith(`\r\n--${boundary}--\r\n`));
});

test('multipart/related with the given boundary (R70): exactly the R72 wire format, quoted when the boundary needs it', async () => {
  home = await useApiHome({}, 'content-related');
  const fileBytes = await readFile(medium.path);
  const build = () => {
    const root = new BackgroundTransferContentPart('root');
    root.setHeader('Content-Type', 'application/json');
    root.setHeader('Content-ID', '<root@bgtransfer>');
    root.setText('{"see":"cid:data@bgtransfer"}');
    const data = new BackgroundTransferContentPart('data', 'medium.bin');
    data.setHeader('Content-Type', 'image/png');
    data.setHeader('Content-ID', '<data@bgtransfer>');
    data.setFile(medium.path);
    return [root, data];
  };
  const expected = (boundary: string) =>
    Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="root"\r\nContent-Type: application/json\r\n` +
          `Content-ID: <root@bgtransfer>\r\n\r\n{"see":"cid:data@bgtransfer"}\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="data"; filename="medium.bin"\r\n` +
          'Content-Type: image/png\r\nContent-ID: <data@bgtransfer>\r\n\r\n',
      ),
      fileBytes,
      Buffer.from(`\r\n--${boundary}--`),
    ]);

  for (const [boundary, parameter] of [
    ['bgtransfer_related-42', 'bgtransfer_related-42'],
    ["it's a (boundary)=?", `"it's a (boundary)=?"`],
  ] as const) {
    const uploader = new BackgroundUploader();
    const operation = await uploader.createUploadAsync(`${multipartServer.url}/related`, build(), 'related', boundary);
    await operation.startAsync();
    const received = multipartServer.last('/related');
    assert.equal(received.contentType, `multipart/related; boundary=${parameter}`);
    const want = expected(boundary);
    // The close delimiter may be followed by a CRLF (RFC 2046 allows an epilogue); nothing else.
    const body = received.raw.subarray(0, want.length);
    assert.ok(body.equals(want), `body differs from R72's format:\n${received.raw.toString('latin1').slice(0, 600)}`);
    assert.ok(['', '\r\n'].includes(received.raw.subarray(want.length).toString('latin1')));
    assert.equal(operation.progress.totalBytesToSend, received.raw.length);
    assert.equal(received.contentLength, received.raw.length);
  }
});

test('R68 and bad input: a part holds text or a file, never both; createUploadAsync rejects before anything is stored', async () => {
  home = await useApiHome({}, 'content-errors');
  const withFile = new BackgroundTransferContentPart('a', 'a.bin');
  withFile.setFile(tiny.path);
  assert.throws(() => withFile.setText('text too'), { code: 'BT_ERR_ILLEGAL_STATE' });
  const withText = new BackgroundTransferContentPart('b');
  withText.setText('text');
  assert.throws(() => withText.setFile(tiny.path), { code: 'BT_ERR_ILLEGAL_STATE' });
  // Replacing within the same kind is fine.
  withText.setText('other text');
  withFile.setFile(medium.path);

  const uploader = new BackgroundUploader();
  const url = `${multipartServer.url}/never`;
  const missing = new BackgroundTransferContentPart('m', 'm.bin');
  missing.setFile(join(files.path, 'does-not-exist.bin'));
  await assert.rejects(uploader.createUploadAsync(url, [withText, missing]), { code: 'BT_ERR_FILE_NOT_FOUND' });
  await assert.rejects(uploader.createUploadAsync(url, []), { code: 'BT_ERR_INVALID_ARGUMENT' });
  await assert.rejects(uploader.createUploadAsync(url, [withText, 'text' as never]), {
    code: 'BT_ERR_INVALID_ARGUMENT',
  });
  await assert.rejects(uploader.createUploadAsync(url, [withText], 'form data'), { code: 'BT_ERR_INVALID_ARGUMENT' });
  await assert.rejects(uploader.createUploadAsync(url, [withText], 'related', 'x'.repeat(71)), {
    code: 'BT_ERR_INVALID_ARGUMENT',
  });
  await assert.rejects(uploader.createUploadAsync(url, [withText], 'related', 'ends with space '), {
    code: 'BT_ERR_INVALID_ARGUMENT',
  });
  const clash = new BackgroundTransferContentPart('c');
  clash.setText('before\r\n--fixed-boundary\r\nafter');
  await assert.rejects(uploader.createUploadAsync(url, [clash], 'form-data', 'fixed-boundary'), {
    code: 'BT_ERR_INVALID_ARGUMENT',
  });
  assert.deepEqual([...(await BackgroundUploader.getCurrentUploadsAsync())], []);
  assert.equal(multipartServer.count('/never'), 0);
});
