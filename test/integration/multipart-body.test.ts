import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import busboy from 'busboy';
import { request } from 'undici';
import { BackgroundTransferContentPart } from '../../src/api/background-transfer-content-part.ts';
import { generateBoundary } from '../../src/core/multipart/boundary.ts';
import { buildMultipartBody } from '../../src/protocols/multipart/multipart-body.ts';
import { listenOnLoopback } from '../helpers/loopback.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';

/**
 * The multipart body on the wire (R69–R72): sent with undici `request()` and an exact Content-Length to a
 * node:http server that parses it with busboy, the way the sample's upload.aspx reads `Request.Files`.
 */

const MiB = 1024 * 1024;

interface ReceivedFile {
  field: string;
  fileName: string;
  mimeType: string;
  size: number;
  sha256: string;
}

interface Received {
  contentType: string;
  contentLength: number;
  bodyBytes: number;
  files: ReceivedFile[];
  fields: Array<{ name: string; value: string }>;
}

let dir: TempDir;
let server: Server;
let origin: string;
let large: RandomFile;
let small: RandomFile;
let quoted: RandomFile;

/**
 * Parses any multipart/* body: busboy only accepts form-data, so another subtype is handed to it as
 * form-data with the same boundary (the framing is the same, R70). Answers with what it saw as JSON.
 */
function handle(req: IncomingMessage, res: ServerResponse): void {
  const contentType = req.headers['content-type'] ?? '';
  const received: Received = {
    contentType,
    contentLength: Number(req.headers['content-length']),
    bodyBytes: 0,
    files: [],
    fields: [],
  };
  const parser = busboy({
    headers: { ...req.headers, 'content-type': contentType.replace(/^multipart\/[^;]+/, 'multipart/form-data') },
    defParamCharset: 'utf8',
  });
  const pending: Array<Promise<void>> = [];
  parser.on('file', (field, stream, info) => {
    const hash = createHash('sha256');
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      size += chunk.length;
    });
    pending.push(
      once(stream, 'end').then(() => {
        received.files.push({
          field,
          fileName: info.filename ?? '(none)',
          mimeType: info.mimeType,
          size,
          sha256: hash.digest('hex'),
        });
      }),
    );
  });
  parser.on('field', (name, value) => received.fields.push({ name, value }));
  parser.on('close', () => {
    void Promise.all(pending).then(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(received));
    });
  });
  parser.on('error', (error: Error) => {
    res.writeHead(400);
    res.end(error.message);
  });
  req.on('data', (chunk: Buffer) => {
    received.bodyBytes += chunk.length;
  });
  req.pipe(parser);
}

before(async () => {
  dir = await makeTempDir('multipart-integration-');
  large = await writeRandomFile(dir.path, 'large.bin', 5 * MiB);
  small = await writeRandomFile(dir.path, 'small.bin', 12_345);
  quoted = await writeRandomFile(dir.path, 'quoted.bin', 1);
  server = createServer(handle);
  origin = (await listenOnLoopback(server)).url;
});

after(async () => {
  server.close();
  await dir.cleanup();
});

async function post(parts: BackgroundTransferContentPart[], subType: string, boundary: string): Promise<Received> {
  const { body, contentType } = buildMultipartBody(
    parts.map((part) => part.toSpec()),
    subType,
    boundary,
  );
  const response = await request(`${origin}/upload`, {
    method: 'POST',
    headers: { 'content-type': contentType, 'content-length': String(body.size) },
    body: Readable.from(body.read(0), { objectMode: false }),
  });
  const text = await response.body.text();
  assert.equal(response.statusCode, 200, text);
  const received = JSON.parse(text) as Received;
  assert.equal(received.contentLength, body.size);
  assert.equal(received.bodyBytes, body.size, 'the body is exactly Content-Length bytes');
  return received;
}

function filePart(name: string, fileName: string, path: string): BackgroundTransferContentPart {
  const part = new BackgroundTransferContentPart(name, fileName);
  part.setFile(path);
  return part;
}

function textPart(name: string, value: string): BackgroundTransferContentPart {
  const part = new BackgroundTransferContentPart(name);
  part.setText(value);
  return part;
}

test('R69/R71: three files and two text fields reach a busboy server byte for byte', async () => {
  const typed = filePart('File1', 'résumé 日本.bin', small.path);
  typed.setHeader('Content-Type', 'application/x-test');
  const received = await post(
    [
      filePart('File0', 'large.bin', large.path),
      textPart('FormData', 'api_key=123&ünïcode=✓'),
      typed,
      textPart('名前', 'multi\r\nline'),
      filePart('say "hi"', 'a "quoted" name.bin', quoted.path),
    ],
    'form-data',
    generateBoundary(),
  );
  assert.match(received.contentType, /^multipart\/form-data; boundary=----bgtransfer-[\w-]{24}$/);
  assert.deepEqual(received.files, [
    {
      field: 'File0',
      fileName: 'large.bin',
      mimeType: 'application/octet-stream',
      size: 5 * MiB,
      sha256: large.sha256,
    },
    {
      field: 'File1',
      fileName: 'résumé 日本.bin',
      mimeType: 'application/x-test',
      size: small.size,
      sha256: small.sha256,
    },
    // RFC 7578 §4.2 / WHATWG: `"` travels as %22; busboy, like most servers, does not decode it.
    {
      field: 'say %22hi%22',
      fileName: 'a %22quoted%22 name.bin',
      mimeType: 'application/octet-stream',
      size: 1,
      sha256: quoted.sha256,
    },
  ]);
  assert.deepEqual(received.fields, [
    { name: 'FormData', value: 'api_key=123&ünïcode=✓' },
    { name: '名前', value: 'multi\r\nline' },
  ]);
});

test('R70: multipart/related with a given boundary arrives with that Content-Type and intact parts', async () => {
  const boundary = 'related boundary:42';
  const received = await post(
    [textPart('meta', '{"title":"x"}'), filePart('File0', 'small.bin', small.path)],
    'related',
    boundary,
  );
  assert.equal(received.contentType, 'multipart/related; boundary="related boundary:42"');
  assert.deepEqual(received.fields, [{ name: 'meta', value: '{"title":"x"}' }]);
  assert.deepEqual(received.files, [
    {
      field: 'File0',
      fileName: 'small.bin',
      mimeType: 'application/octet-stream',
      size: small.size,
      sha256: small.sha256,
    },
  ]);
});
