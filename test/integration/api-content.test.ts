import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, afterEach, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import busboy from 'busboy';
import {
  BackgroundTransferCompletionGroup,
  BackgroundTransferContentPart,
  BackgroundTransferStatus,
  BackgroundUploader,
  type UploadOperation,
} from '../../src/index.ts';
import { stopHost } from '../../src/ipc/host-control.ts';
import { SocketPort } from '../../src/ipc/socket-port.ts';
import { type ApiHome, useApiHome } from '../helpers/api-home.ts';
import { spawnNode } from '../helpers/process-tools.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

/**
 * Through the public API: multipart uploads (createUploadAsync, R68–R72) to a node:http
 * server that parses them with busboy and keeps the raw bytes, and stream uploads
 * (createUploadFromStreamAsync) from a Node Readable and a web ReadableStream, whose spool file lives
 * under BGTRANSFER_HOME/spool exactly as long as the upload — also when the app exits and the transfer
 * host finishes the upload alone.
 */

const STREAM_APP = fileURLToPath(new URL('../scripts/stream-app.ts', import.meta.url));

let files: TempDir;
let multipartServer: MultipartServer;
let uploads: UploadServer;
let home: ApiHome | undefined;
let big: RandomFile;
let medium: RandomFile;
let tiny: RandomFile;

before(async () => {
  files = await makeTempDir('bgtransfer-api-content-');
  [big, medium, tiny] = await Promise.all([
    writeRandomFile(files.path, 'big.bin', 1024 * 1024 + 7),
    writeRandomFile(files.path, 'medium.bin', 65_536),
    writeRandomFile(files.path, 'tiny.bin', 13),
  ]);
  multipartServer = await startMultipartServer();
  uploads = await startUploadServer();
});
afterEach(async () => {
  await home?.cleanup();
  home = undefined;
});
after(async () => {
  await multipartServer.close();
  await uploads.close();
  await files.cleanup();
});

// ---- multipart (R68–R72)

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

// ---- streams

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

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

function hashReply(request: { sha256: string | null; bodyBytes: number }) {
  return {
    status: 201,
    headers: [['Content-Type', 'application/json']] as Array<[string, string]>,
    body: JSON.stringify({ sha256: request.sha256, bytes: request.bodyBytes }),
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

// ---- the multipart server

interface ReceivedForm {
  files: Array<{ field: string; fileName: string | undefined; mimeType: string; size: number; sha256: string }>;
  fields: Array<{ name: string; value: string; mimeType: string }>;
}

interface ReceivedRequest {
  path: string;
  method: string;
  contentType: string;
  contentLength: number;
  transferEncoding: string | undefined;
  /** The body exactly as it arrived. */
  raw: Buffer;
  /** busboy's reading of a multipart/form-data body. */
  form: ReceivedForm | null;
}

interface MultipartServer {
  url: string;
  last(path: string): ReceivedRequest;
  count(path: string): number;
  close(): Promise<void>;
}

async function startMultipartServer(): Promise<MultipartServer> {
  const received: ReceivedRequest[] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method === 'OPTIONS') {
      // The tus probe of resumeProtocol "auto": this is not a tus server.
      res.writeHead(204).end();
      return;
    }
    const raw = Buffer.concat(chunks);
    const contentType = req.headers['content-type'] ?? '';
    const request: ReceivedRequest = {
      path: new URL(req.url ?? '/', 'http://x').pathname,
      method: req.method ?? '',
      contentType,
      contentLength: Number(req.headers['content-length']),
      transferEncoding: req.headers['transfer-encoding'],
      raw,
      form: contentType.startsWith('multipart/form-data') ? await parseForm(req, raw) : null,
    };
    received.push(request);
    res.writeHead(201, { 'Content-Type': 'text/plain' }).end('stored');
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    last(path) {
      const found = received.filter((request) => request.path === path).at(-1);
      assert.ok(found, `no request for ${path}`);
      return found;
    },
    count: (path) => received.filter((request) => request.path === path).length,
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function parseForm(req: IncomingMessage, raw: Buffer): Promise<ReceivedForm> {
  return new Promise((resolve, reject) => {
    const form: ReceivedForm = { files: [], fields: [] };
    const parser = busboy({ headers: req.headers, defParamCharset: 'utf8' });
    const pending: Promise<void>[] = [];
    parser.on('file', (field, stream, info) => {
      const entry = { field, fileName: info.filename, mimeType: info.mimeType, size: 0, sha256: '' };
      form.files.push(entry);
      pending.push(
        new Promise<void>((done) => {
          const hash = createHash('sha256');
          stream.on('data', (chunk: Buffer) => {
            hash.update(chunk);
            entry.size += chunk.length;
          });
          stream.on('end', () => {
            entry.sha256 = hash.digest('hex');
            done();
          });
        }),
      );
    });
    parser.on('field', (name, value, info) => form.fields.push({ name, value, mimeType: info.mimeType }));
    parser.on('error', reject);
    parser.on('close', () => {
      Promise.all(pending).then(() => resolve(form), reject);
    });
    parser.end(raw);
  });
}
