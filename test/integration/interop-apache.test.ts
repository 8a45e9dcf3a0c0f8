import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import type { Dispatcher } from 'undici';
import { createDispatcher } from '../../src/net/dispatcher.ts';
import { forgetLearnedAuth } from '../../src/protocols/http/auth-cache.ts';
import { uploadHttp } from '../../src/protocols/http/http-upload.ts';
import type { HttpUploadResult } from '../../src/protocols/http/http-upload-types.ts';
import { fileBody } from '../../src/source/body-source.ts';
import { inspectSourceFile } from '../../src/source/file-source.ts';
import { type Apache, startApache } from '../helpers/apache.ts';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';

const MiB = 1024 * 1024;
const USER = { userName: 'alice', password: 'digest-s3cret' };
/** Request heads and the one byte sent before an early 401: far below this. */
const OVERHEAD_BYTES = 64 * 1024;

let dir: TempDir;
let file: RandomFile;
let apache: Apache;
let wire: FaultProxy;
let dispatcher: Dispatcher;
let counter = 0;

before(async () => {
  dir = await makeTempDir('interop-apache-');
  file = await writeRandomFile(dir.path, 'file.bin', 10 * MiB);
  apache = await startApache(USER);
  // A pass-through TCP proxy in front of Apache counts the bytes on the wire.
  wire = await startFaultProxy(apache.server.port);
  dispatcher = createDispatcher({ connectTimeoutMs: 10_000, extraCaCertificates: [] });
});

after(async () => {
  await dispatcher?.close();
  await wire?.close();
  await apache?.stop();
  await dir?.cleanup();
});

beforeEach(() => forgetLearnedAuth());

function put(path: string): Promise<HttpUploadResult> {
  counter += 1;
  return uploadHttp({
    url: new URL(`${wire.url}${path}`),
    method: 'PUT',
    headers: [],
    credentials: USER,
    body: fileBody(inspectSourceFile(file.path)),
    responseBodyPath: join(dir.path, `response-${counter}.bin`),
    dispatcher,
    signal: new AbortController().signal,
    responseTimeoutMs: 60_000,
    maxRedirects: 5,
    onBytesSent() {},
    onResponse() {},
    onBytesReceived() {},
  });
}

async function sha256Of(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

test('Apache mod_auth_digest: a 10 MiB upload puts the body on the wire once, and the next upload needs no 401', async (t) => {
  const before = wire.upstreamBytes();
  const first = await put('/digest/first.bin');
  const firstBytes = wire.upstreamBytes() - before;
  assert.equal(first.response.statusCode, 201);
  assert.equal(await sha256Of(join(apache.digestRoot, 'first.bin')), file.sha256);
  assert.ok(
    firstBytes <= file.size + OVERHEAD_BYTES,
    `first upload: ${firstBytes} bytes on the wire for a ${file.size}-byte body (${(firstBytes / file.size).toFixed(2)}×)`,
  );
  t.diagnostic(`first upload: ${firstBytes} bytes on the wire for ${file.size}`);
  const log = await apache.accessLog();
  assert.deepEqual(
    log.map((line) => `${line.method} ${line.path} ${line.status}`),
    ['PUT /digest/first.bin 401', 'PUT /digest/first.bin 201'],
  );
  assert.ok(log[0]!.bytesIn < OVERHEAD_BYTES, `Apache read ${log[0]!.bytesIn} bytes of the refused request`);

  // A new upload (a new ServerAuth) in the same process: Digest from its first request.
  const middle = wire.upstreamBytes();
  const second = await put('/digest/second.bin');
  const secondBytes = wire.upstreamBytes() - middle;
  assert.equal(second.response.statusCode, 201);
  assert.equal(await sha256Of(join(apache.digestRoot, 'second.bin')), file.sha256);
  t.diagnostic(`second upload: ${secondBytes} bytes on the wire for ${file.size}`);
  assert.ok(secondBytes <= file.size + OVERHEAD_BYTES, `second upload: ${secondBytes} bytes on the wire`);
  assert.deepEqual(
    (await apache.accessLog()).slice(2).map((line) => `${line.method} ${line.path} ${line.status}`),
    ['PUT /digest/second.bin 201'],
  );
});

test('Apache mod_auth_digest: wrong credentials are refused before the body, with Basic and with Digest', async (t) => {
  const lines = (await apache.accessLog()).length;
  const before = wire.upstreamBytes();
  counter += 1;
  const result = await uploadHttp({
    url: new URL(`${wire.url}/digest/refused.bin`),
    method: 'PUT',
    headers: [],
    credentials: { userName: USER.userName, password: 'wrong' },
    body: fileBody(inspectSourceFile(file.path)),
    responseBodyPath: join(dir.path, `response-${counter}.bin`),
    dispatcher,
    signal: new AbortController().signal,
    responseTimeoutMs: 60_000,
    maxRedirects: 5,
    onBytesSent() {},
    onResponse() {},
    onBytesReceived() {},
  });
  const sent = wire.upstreamBytes() - before;
  t.diagnostic(`refused upload: ${sent} bytes on the wire for ${file.size}`);
  assert.equal(result.response.statusCode, 401);
  const refused = (await apache.accessLog()).slice(lines);
  assert.deepEqual(
    refused.map((line) => line.status),
    [401, 401],
  );
  // Both carry Expect: 100-continue (the password was never accepted), so Apache refuses each one
  // before reading the body.
  assert.ok(sent <= OVERHEAD_BYTES, `${sent} bytes on the wire for a refused ${file.size}-byte upload`);
  assert.ok(
    refused.every((line) => line.bytesIn < OVERHEAD_BYTES),
    `Apache read ${refused.map((line) => line.bytesIn).join(', ')}`,
  );
});
