import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { BackgroundTransferStatus } from '../../src/core/enums.ts';
import { TransferError } from '../../src/core/errors.ts';
import { DEFAULT_REQUEST_EXTRAS } from '../../src/core/operation-extras.ts';
import { createDispatcher } from '../../src/net/dispatcher.ts';
import { probeTusEndpoint } from '../../src/protocols/tus/tus-control.ts';
import { CREATION_BODY_BYTES } from '../../src/protocols/tus/tus-creation.ts';
import { type TusUploadInput, uploadTus } from '../../src/protocols/tus/tus-upload.ts';
import { fileBody } from '../../src/source/body-source.ts';
import { inspectSourceFile } from '../../src/source/file-source.ts';
import { startEngine } from '../helpers/engine-harness.ts';
import { startFaultProxy } from '../helpers/fault-proxy.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startTusServer } from '../helpers/tus-server.ts';

/**
 * tus extensions against @tus/server on loopback: creation-with-upload (the creation POST carries the
 * body's first part) and expiration (an upload whose Upload-Expires passed is created again).
 */

const MIB = 1024 * 1024;
let dir: TempDir;
let small: RandomFile;
let large: RandomFile;
let dispatcher: Dispatcher;
let counter = 0;

before(async () => {
  dir = await makeTempDir('tus-extensions-');
  small = await writeRandomFile(dir.path, 'small.bin', 100_000);
  large = await writeRandomFile(dir.path, 'large.bin', 3 * MIB + 77);
  dispatcher = createDispatcher({ connectTimeoutMs: 5_000, extraCaCertificates: [] });
});
after(async () => {
  await dispatcher.close();
  await dir.cleanup();
});

interface Seen {
  sessions: Array<{ url: string; expiresAtMs: number | null | undefined }>;
  offsets: number[];
  statuses: number[];
}

function input(endpoint: string, file: RandomFile, overrides: Partial<TusUploadInput> = {}) {
  const seen: Seen = { sessions: [], offsets: [], statuses: [] };
  counter += 1;
  const value: TusUploadInput = {
    endpoint: new URL(endpoint),
    headers: [],
    body: fileBody(inspectSourceFile(file.path)),
    metadata: {},
    session: null,
    dispatcher,
    signal: new AbortController().signal,
    responseTimeoutMs: 15_000,
    stallTimeoutMs: 10_000,
    responseBodyPath: join(dir.path, `response-${counter}.bin`),
    onSession: (url, expiresAtMs) => seen.sessions.push({ url, expiresAtMs }),
    onOffset: (offset) => seen.offsets.push(offset),
    onBytesSent() {},
    onResponse: (response) => seen.statuses.push(response.statusCode),
    onBytesReceived() {},
    ...overrides,
  };
  return { value, seen };
}

test('creation-with-upload: the creation POST carries all of a small body but its last byte, byte-exact', async () => {
  const tus = await startTusServer();
  try {
    const probe = await probeTusEndpoint(new URL(tus.endpoint), dispatcher, new AbortController().signal, []);
    assert.ok(probe.extensions.includes('creation-with-upload'), probe.extensions.join(','));
    const { value, seen } = input(tus.endpoint, small, { extensions: probe.extensions });
    const result = await uploadTus(value);
    assert.equal(result.response.statusCode, 204);
    const methods = tus.requests.filter((request) => request.method !== 'OPTIONS').map((request) => request.method);
    assert.deepEqual(methods, ['POST', 'PATCH']);
    const post = tus.requests.find((request) => request.method === 'POST');
    const contentType = post?.headers.find(([name]) => name.toLowerCase() === 'content-type')?.[1];
    assert.equal(contentType, 'application/offset+octet-stream');
    // The last byte waits for the stored upload URL: a creation in flight never completes an upload.
    assert.deepEqual(seen.offsets, [small.size - 1, small.size]);
    const id = tus.uploadId(seen.sessions[0]?.url ?? '');
    assert.equal(tus.receivedBytes(id), small.size, 'no byte sent twice');
    assert.equal(await tus.sha256(id), small.sha256);
  } finally {
    await tus.close();
  }
});

test('creation-with-upload: a large body sends its first part with the POST; a cut PATCH resumes with HEAD', async () => {
  const tus = await startTusServer();
  const proxy = await startFaultProxy(tus.port);
  try {
    const endpoint = `${proxy.url}/files/`;
    // Every connection is cut 2 MiB in: inside the PATCH that follows the POST's 256 KiB.
    proxy.setDefaultPlan({ resetAfterUpstreamBytes: 2 * MIB });
    const probe = await probeTusEndpoint(new URL(endpoint), dispatcher, new AbortController().signal, []);
    const first = input(endpoint, large, { extensions: probe.extensions });
    const error = await uploadTus(first.value).then(
      () => assert.fail('the cut PATCH should fail the attempt'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof TransferError, String(error));
    assert.equal(first.seen.sessions.length, 1, 'the session was stored after the creation');
    assert.equal(first.seen.offsets[0], CREATION_BODY_BYTES, "the creation answer's Upload-Offset");
    const uploadUrl = first.seen.sessions[0]?.url ?? '';
    const id = tus.uploadId(uploadUrl);
    assert.equal(tus.receivedBytes(id) >= CREATION_BODY_BYTES, true);

    proxy.setDefaultPlan({});
    // A dispatcher of its own: the first one may hold an idle connection made under the cutting plan.
    const fresh = createDispatcher({ connectTimeoutMs: 5_000, extraCaCertificates: [] });
    const second = input(endpoint, large, { session: { uploadUrl }, extensions: probe.extensions, dispatcher: fresh });
    const result = await uploadTus(second.value).finally(() => fresh.close());
    assert.equal(result.response.statusCode, 204);
    const methods = tus.requests.map((request) => request.method);
    assert.deepEqual(methods.slice(-2), ['HEAD', 'PATCH']);
    assert.deepEqual(
      methods.filter((method) => method === 'POST'),
      ['POST'],
      'created once',
    );
    assert.equal(await tus.sha256(id), large.sha256);
  } finally {
    await proxy.close();
    await tus.close();
  }
});

test('through the engine: a creation POST cut in its body is created again (hasRestarted), byte-exact', async () => {
  const tus = await startTusServer();
  const proxy = await startFaultProxy(tus.port);
  const h = await startEngine({ retryBaseDelayMs: 1_000, progressIntervalMs: 20 });
  try {
    // Connections are cut 100 000 bytes in (the probe is far smaller): inside the POST's body.
    proxy.setDefaultPlan({ resetAfterUpstreamBytes: 100_000 });
    const spec = h.spec({
      sourcePath: large.path,
      requestedUri: `${proxy.url}/files/`,
      method: 'POST',
      extras: { ...DEFAULT_REQUEST_EXTRAS, resumeProtocol: 'auto' },
    });
    h.engine.start(spec);
    await proxy.waitForFault(30_000);
    // The retry (a second away) goes through, slowly enough that it publishes progress with its flag.
    proxy.setDefaultPlan({ throttleBytesPerSecond: 8 * MIB });
    const done = await h.waitFor(
      spec.guid,
      (snapshot) =>
        snapshot.progress.status === BackgroundTransferStatus.completed ||
        snapshot.progress.status === BackgroundTransferStatus.error,
      60_000,
    );
    assert.equal(done.progress.status, BackgroundTransferStatus.completed, JSON.stringify(done.error));
    assert.ok(proxy.connections.some((connection) => connection.fault === 'reset'));
    // R38's flag rides on the progress reports of the running request (a finished one reports it cleared).
    assert.ok(
      h.updates.some((update) => update.guid === spec.guid && update.progress.hasRestarted),
      'hasRestarted was reported',
    );
    const posts = tus.requests.filter((request) => request.method === 'POST');
    // An idle connection made under the cutting plan may cut one more creation.
    assert.ok(posts.length >= 2, 'created again after the cut');
    assert.equal(
      proxy.connections.filter((connection) => connection.fault === 'reset').length,
      posts.length - 1,
      'one creation per cut, plus the one that went through',
    );
    const complete = await Promise.all(
      tus.requests
        .filter((request) => request.method === 'PATCH')
        .map((request) => tus.sha256(tus.uploadId(request.url))),
    );
    assert.ok(complete.includes(large.sha256), 'the upload that completed holds the exact bytes');
  } finally {
    await h.close();
    await proxy.close();
    await tus.close();
  }
});

test('Upload-Expires is stored; once it passed, the upload is not asked for but created again', async () => {
  const tus = await startTusServer({ expirationMs: 1_500 });
  const proxy = await startFaultProxy(tus.port);
  try {
    const endpoint = `${proxy.url}/files/`;
    proxy.nextConnection({ resetAfterUpstreamBytes: MIB });
    const first = input(endpoint, large, { chunkSizeBytes: 512 * 1024 });
    await uploadTus(first.value).then(
      () => assert.fail('the cut should fail the attempt'),
      () => undefined,
    );
    const stored = first.seen.sessions.at(-1);
    assert.ok(stored, 'a session');
    assert.equal(typeof stored.expiresAtMs, 'number', 'the creation answer named Upload-Expires');
    assert.ok(Math.abs((stored.expiresAtMs ?? 0) - Date.now()) < 60_000, String(stored.expiresAtMs));
    for (let waited = 0; (stored.expiresAtMs ?? 0) >= Date.now(); waited += 100) {
      assert.ok(waited < 30_000, 'the expiry passes');
      await sleep(100);
    }
    const requestsBefore = tus.requests.length;
    const second = input(endpoint, large, { session: { uploadUrl: stored.url, expiresAtMs: stored.expiresAtMs } });
    const error = await uploadTus(second.value).then(
      () => assert.fail('an expired upload is lost'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof TransferError && error.code === 'BT_ERR_RESUME_LOST', String(error));
    assert.match(error.message, /expired/);
    assert.equal(tus.requests.length, requestsBefore, 'the expired upload URL was not touched');
  } finally {
    await proxy.close();
    await tus.close();
  }
});

test('through the engine: an upload retried after its Upload-Expires is created again (hasRestarted)', async () => {
  const tus = await startTusServer({ expirationMs: 1_500 });
  const proxy = await startFaultProxy(tus.port);
  // The retry comes after the expiry.
  const h = await startEngine({ retryBaseDelayMs: 3_000 });
  try {
    // The probe's connection, reused by the creation and the PATCH, is cut 1 MiB in.
    proxy.nextConnection({ resetAfterUpstreamBytes: MIB });
    const spec = h.spec({
      sourcePath: large.path,
      requestedUri: `${proxy.url}/files/`,
      method: 'PUT',
      extras: { ...DEFAULT_REQUEST_EXTRAS, resumeProtocol: 'auto' },
    });
    h.engine.start(spec);
    const done = await h.waitFor(
      spec.guid,
      (snapshot) =>
        snapshot.progress.status === BackgroundTransferStatus.completed ||
        snapshot.progress.status === BackgroundTransferStatus.error,
      60_000,
    );
    assert.equal(done.progress.status, BackgroundTransferStatus.completed, JSON.stringify(done.error));
    // R38's flag rides on the progress reports of the running request (a finished one reports it cleared).
    assert.ok(
      h.updates.some((update) => update.guid === spec.guid && update.progress.hasRestarted),
      'hasRestarted was reported',
    );
    const methods = tus.requests.map((request) => request.method);
    assert.equal(methods.filter((method) => method === 'POST').length, 2, methods.join(' '));
    assert.equal(methods.includes('HEAD'), false, 'the expired upload was not asked for its offset');
    const last = tus.requests.findLast((request) => request.method === 'PATCH');
    assert.equal(await tus.sha256(tus.uploadId(last?.url ?? '')), large.sha256);
  } finally {
    await h.close();
    await proxy.close();
    await tus.close();
  }
});

test('through the engine: while a creation carrying the body is in flight, the POST stays "creation pending"', async () => {
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let posts = 0;
  // The creation is held before @tus/server reads it: its whole body sits in the connection's buffers.
  const tus = await startTusServer({
    beforeHandle: (request) => {
      if (request.method !== 'POST') return undefined;
      posts += 1;
      return held;
    },
  });
  const h = await startEngine({ retryBaseDelayMs: 50 });
  try {
    const spec = h.spec({
      sourcePath: small.path,
      requestedUri: tus.endpoint,
      method: 'POST',
      extras: { ...DEFAULT_REQUEST_EXTRAS, resumeProtocol: 'auto' },
    });
    h.engine.start(spec);
    await h.waitFor(spec.guid, (snapshot) => snapshot.progress.bytesSent >= small.size - 1, 30_000);
    assert.equal(posts, 1);
    const record = h.engine.getRecord(spec.guid);
    assert.equal(record?.extras.session, null);
    // A crash now must create the upload again (R12 would terminate a POST that is not pending).
    assert.equal(record?.extras.creationPending, true, 'creation pending while the creation is unanswered');
    release();
    const done = await h.waitFor(
      spec.guid,
      (snapshot) =>
        snapshot.progress.status === BackgroundTransferStatus.completed ||
        snapshot.progress.status === BackgroundTransferStatus.error,
      60_000,
    );
    assert.equal(done.progress.status, BackgroundTransferStatus.completed, JSON.stringify(done.error));
  } finally {
    release();
    await h.close();
    await tus.close();
  }
});
