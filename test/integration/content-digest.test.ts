import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { DEFAULT_REQUEST_EXTRAS } from '../../src/core/operation-extras.ts';
import type { OperationSnapshot } from '../../src/core/snapshot.ts';
import {
  BackgroundTransferContentPart,
  BackgroundTransferStatus,
  BackgroundUploader,
  type UploadOperation,
} from '../../src/index.ts';
import { type ApiHome, useApiHome } from '../helpers/api-home.ts';
import { startEngine } from '../helpers/engine-harness.ts';
import { startFaultProxy } from '../helpers/fault-proxy.ts';
import { startFtpSrv } from '../helpers/ftp-servers.ts';
import { startIetfServer } from '../helpers/ietf-server.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startTusServer } from '../helpers/tus-server.ts';
import { type RecordedRequest, startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

/**
 * UploadOperation.contentDigest and Repr-Digest, against real loopback servers: the digest equals the
 * SHA-256 of what the server received (what `sha256sum` prints for the file), for every protocol and
 * after a resume; a server that checks Repr-Digest accepts the body.
 */

const MIB = 1024 * 1024;
let server: UploadServer;
let files: TempDir;
let source: RandomFile;
let home: ApiHome | undefined;

before(async () => {
  server = await startUploadServer();
  files = await makeTempDir('content-digest-');
  source = await writeRandomFile(files.path, 'body.bin', 6 * MIB + 4321);
});
afterEach(async () => {
  await home?.cleanup();
  home = undefined;
});
after(async () => {
  await server.close();
  await files.cleanup();
});

/** `sha-256=:<base64>:` of a hex SHA-256 (what sha256sum prints). */
function rfc9530(hex: string): string {
  return `sha-256=:${Buffer.from(hex, 'hex').toString('base64')}:`;
}

function header(request: RecordedRequest | undefined, name: string): string | undefined {
  return request?.headers.find(([key]) => key.toLowerCase() === name)?.[1];
}

function uploader(method: string, options: { sendContentDigest?: boolean } = {}): BackgroundUploader {
  const result = new BackgroundUploader();
  result.method = method;
  result.resumeProtocol = 'none';
  if (options.sendContentDigest) result.sendContentDigest = true;
  return result;
}

test('PUT and POST: contentDigest is null until started, then the SHA-256 of the file; no Repr-Digest unless asked', async () => {
  home = await useApiHome({}, 'digest-plain');
  for (const method of ['PUT', 'POST']) {
    const operation = uploader(method).createUpload(`${server.url}/plain/${method}`, source.path);
    assert.equal(operation.contentDigest, null);
    await operation.startAsync();
    const received = server.requests.at(-1);
    assert.equal(received?.sha256, source.sha256);
    assert.equal(operation.contentDigest, rfc9530(source.sha256));
    assert.equal(header(received, 'repr-digest'), undefined, 'sendContentDigest is false by default');
    const [stored] = (await BackgroundUploader.getCurrentUploadsAsync()).filter((op) => op.guid === operation.guid);
    assert.equal(stored?.contentDigest, rfc9530(source.sha256), 'kept with the operation');
  }
});

test('sendContentDigest: a server that checks Repr-Digest against the body it received accepts PUT and POST', async () => {
  home = await useApiHome({}, 'digest-send');
  const seen: Array<string | undefined> = [];
  server.route('/checked', (request) => {
    const claimed = header(request, 'repr-digest');
    seen.push(claimed);
    return claimed === rfc9530(request.sha256 ?? '') ? { status: 201 } : { status: 400, body: 'digest mismatch' };
  });
  for (const method of ['PUT', 'POST']) {
    const operation = uploader(method, { sendContentDigest: true }).createUpload(`${server.url}/checked`, source.path);
    await operation.startAsync();
    assert.equal(operation.getResponseInformation()?.statusCode, 201);
    assert.equal(operation.contentDigest, rfc9530(source.sha256));
  }
  assert.deepEqual(seen, [rfc9530(source.sha256), rfc9530(source.sha256)]);
  assert.throws(
    () => {
      (new BackgroundUploader() as unknown as { sendContentDigest: unknown }).sendContentDigest = 'yes';
    },
    { code: 'BT_ERR_INVALID_ARGUMENT' },
  );
});

test('multipart: contentDigest is the SHA-256 of the encoded body that was sent', async () => {
  home = await useApiHome({}, 'digest-multipart');
  const file = new BackgroundTransferContentPart('File0', 'body.bin');
  file.setFile(source.path);
  const text = new BackgroundTransferContentPart('title');
  text.setText('a title');
  const operation: UploadOperation = await new BackgroundUploader().createUploadAsync(`${server.url}/form`, [
    file,
    text,
  ]);
  await operation.startAsync();
  const received = server.requests.at(-1);
  assert.ok(received?.sha256);
  assert.equal(operation.contentDigest, rfc9530(received.sha256));
});

test('IETF draft: contentDigest of the whole file; with sendContentDigest the creation carries Repr-Digest', async () => {
  home = await useApiHome({}, 'digest-ietf');
  const draft = await startIetfServer();
  try {
    const result = new BackgroundUploader();
    result.method = 'POST';
    result.resumeProtocol = 'ietf';
    result.sendContentDigest = true;
    const operation = result.createUpload(`${draft.url}/create`, source.path);
    await operation.startAsync();
    assert.equal(operation.progress.status, BackgroundTransferStatus.completed);
    assert.equal(operation.contentDigest, rfc9530(source.sha256));
    const creation = draft.requests.find((request) => request.method === 'POST');
    assert.equal(creation?.headers.find(([name]) => name.toLowerCase() === 'repr-digest')?.[1], rfc9530(source.sha256));
  } finally {
    await draft.close();
  }
});

test('tus, cut mid-upload and resumed by the next attempt: contentDigest is still that of the whole file', async () => {
  const tus = await startTusServer();
  const proxy = await startFaultProxy(tus.port);
  const h = await startEngine({ retryBaseDelayMs: 50 });
  try {
    // The creation and the first PATCH may share a connection or not: either way, one of the first
    // two is cut after about 2 MiB of body; every later one passes (each cut attempt made progress).
    proxy.nextConnection({ resetAfterUpstreamBytes: 2 * MIB }, { resetAfterUpstreamBytes: 2 * MIB });
    const spec = h.spec({
      sourcePath: source.path,
      requestedUri: `${proxy.url}/files/`,
      method: 'POST',
      extras: { ...DEFAULT_REQUEST_EXTRAS, resumeProtocol: 'tus' },
    });
    h.engine.start(spec);
    const done: OperationSnapshot = await h.waitFor(
      spec.guid,
      (snapshot) => snapshot.progress.status === BackgroundTransferStatus.completed,
      60_000,
    );
    assert.ok(
      proxy.connections.some((connection) => connection.fault === 'reset'),
      'the first attempt was cut',
    );
    const patches = tus.requests.filter((request) => request.method === 'PATCH');
    const resumedAt = Number(patches.at(-1)?.headers.find(([name]) => name.toLowerCase() === 'upload-offset')?.[1]);
    assert.ok(resumedAt > 0, `the last PATCH resumed at ${resumedAt}, not from 0`);
    const uploadId = tus.uploadId(patches.at(-1)?.url ?? '');
    assert.equal(await tus.sha256(uploadId), source.sha256);
    assert.equal(done.contentDigest, rfc9530(source.sha256));
  } finally {
    await h.close();
    await proxy.close();
    await tus.close();
  }
});

test('FTP: contentDigest is the SHA-256 of the file stored', async () => {
  const ftp = await startFtpSrv();
  const h = await startEngine();
  try {
    const spec = h.spec({
      sourcePath: source.path,
      requestedUri: `${ftp.url}digest.bin`,
      method: 'STOR',
      extras: { ...DEFAULT_REQUEST_EXTRAS, resumeProtocol: 'none', serverCredential: ftp.login },
    });
    h.engine.start(spec);
    const done = await h.waitFor(
      spec.guid,
      (snapshot) => snapshot.progress.status === BackgroundTransferStatus.completed,
      30_000,
    );
    assert.equal(done.contentDigest, rfc9530(source.sha256));
  } finally {
    await h.close();
    await ftp.stop();
  }
});
