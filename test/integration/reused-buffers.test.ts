import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Dispatcher } from 'undici';
import { createDispatcher } from '../../src/net/dispatcher.ts';
import { uploadFtp } from '../../src/protocols/ftp/ftp-upload.ts';
import { uploadHttp } from '../../src/protocols/http/http-upload.ts';
import { type BodySource, fileBody } from '../../src/source/body-source.ts';
import { DigestingBody, formatSha256 } from '../../src/source/digesting-body.ts';
import { inspectSourceFile } from '../../src/source/file-source.ts';
import { startFtpSrv } from '../helpers/ftp-servers.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { makeTestCertificates, type TestCertificates } from '../helpers/tls-certs.ts';
import { startUploadServer } from '../helpers/upload-server.ts';

/**
 * The file source reuses a small ring of read buffers (src/source/file-source.ts, RING_CHUNKS). A
 * consumer that still held a piece when its buffer is refilled would send other bytes in its place,
 * silently. Each path a file body takes is driven here with large files against slow servers, so
 * every socket queue is full and every consumer holds as much as it ever does, and what arrived is
 * compared by sha-256 with the file. (With the buffer of the chunk just handed over refilled at
 * once, the FTP upload arrives corrupted.)
 */

const MiB = 1024 * 1024;
/** Not a multiple of the read size: the last read is a short one. */
const SIZE = 24 * MiB + 4_321;
/** Slow enough that the server's socket buffers fill, fast enough for a loaded machine. */
const SERVER_BYTES_PER_SECOND = 40 * MiB;

let dir: TempDir;
let file: RandomFile;
let certs: TestCertificates;
let dispatcher: Dispatcher;

before(async () => {
  dir = await makeTempDir('reused-buffers-');
  file = await writeRandomFile(dir.path, 'big.bin', SIZE);
  certs = await makeTestCertificates();
  dispatcher = createDispatcher({ connectTimeoutMs: 10_000, extraCaCertificates: [certs.caCert] });
});

after(async () => {
  await dispatcher.close();
  await dir.cleanup();
});

function body(): BodySource {
  return fileBody(inspectSourceFile(file.path));
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function putThroughSlowServer(tls: boolean, source: BodySource, method = 'PUT'): Promise<void> {
  const server = await startUploadServer({
    throttleBytesPerSecond: SERVER_BYTES_PER_SECOND,
    ...(tls ? { tls: certs.valid } : {}),
  });
  try {
    const result = await uploadHttp({
      url: new URL(`${server.url}/big.bin`),
      method,
      headers: [],
      body: source,
      responseBodyPath: join(dir.path, `response-${tls ? 'https' : 'http'}-${method}.bin`),
      dispatcher,
      signal: new AbortController().signal,
      responseTimeoutMs: 60_000,
      maxRedirects: 5,
      onBytesSent: () => {},
      onResponse: () => {},
      onBytesReceived: () => {},
    });
    assert.equal(result.response.statusCode, 201);
    const [request] = server.requests;
    assert.equal(request?.bodyBytes, SIZE);
    assert.equal(request?.sha256, file.sha256, 'the body arrived byte-exact');
  } finally {
    await server.close();
  }
}

test('HTTP (undici) to a slow server: byte-exact', async () => {
  await putThroughSlowServer(false, body());
});

test('HTTPS (undici over TLS) to a slow server: byte-exact', async () => {
  await putThroughSlowServer(true, body());
});

test('a digesting body to a slow server: the body and its digest are both of the file', async () => {
  const digesting = new DigestingBody(body());
  await putThroughSlowServer(false, digesting, 'POST');
  assert.equal(digesting.value, formatSha256(Buffer.from(file.sha256, 'hex')));
});

test('FTP (basic-ftp piping a Readable) to a slow server: byte-exact', async () => {
  const server = await startFtpSrv({ writeDelayMs: 2 });
  try {
    const result = await uploadFtp({
      url: new URL(`${server.url}big.bin`),
      method: 'STOR',
      credentials: server.login,
      body: body(),
      signal: new AbortController().signal,
      connectTimeoutMs: 10_000,
      stallTimeoutMs: 60_000,
      extraCaCertificates: [],
      resume: false,
      onOffset: () => {},
      onBytesSent: () => {},
    });
    assert.equal(result.bytesStored, SIZE);
    assert.equal(await sha256File(join(server.root, 'big.bin')), file.sha256, 'the file arrived byte-exact');
  } finally {
    await server.stop();
  }
});
