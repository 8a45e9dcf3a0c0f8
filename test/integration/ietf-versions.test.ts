import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { BackgroundTransferError } from '../../src/api/background-transfer-error.ts';
import { WebErrorStatus } from '../../src/core/enums.ts';
import { hresultForHttpStatus } from '../../src/core/hresult.ts';
import { decideRetry } from '../../src/engine/retry-policy.ts';
import { createDispatcher } from '../../src/net/dispatcher.ts';
import { uploadIetf } from '../../src/protocols/ietf/ietf-upload.ts';
import { headerOf, ietfAttempt, rejection } from '../helpers/ietf-input.ts';
import { type IetfServerOptions, type IetfTestServer, startIetfServer } from '../helpers/ietf-server.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';

const MiB = 1024 * 1024;
const VERSIONS = [6, 8] as const;

let dir: TempDir;
let medium: RandomFile;
let small: RandomFile;
let dispatcher: Dispatcher;
const servers: IetfTestServer[] = [];

before(async () => {
  dir = await makeTempDir('ietf-versions-test-');
  medium = await writeRandomFile(dir.path, 'medium.bin', 3 * MiB + 77);
  small = await writeRandomFile(dir.path, 'small.bin', 150_001);
  dispatcher = createDispatcher({ connectTimeoutMs: 5_000, extraCaCertificates: [] });
});

after(async () => {
  await Promise.all(servers.map((server) => server.close()));
  await dispatcher.close();
  await dir.cleanup();
});

async function server(options: IetfServerOptions = {}): Promise<IetfTestServer> {
  const started = await startIetfServer(options);
  servers.push(started);
  return started;
}

function attempt(endpoint: string, file: RandomFile, overrides: Parameters<typeof ietfAttempt>[4] = {}) {
  return ietfAttempt(endpoint, file, dir.path, dispatcher, overrides);
}

/** Bytes the server stored for the one upload the client was told about. */
async function storedSha(draft: IetfTestServer, uploadUrl: string): Promise<string> {
  return draft.sha256(draft.uploadId(uploadUrl));
}

/** Creates a partial upload on the server directly: its first `bytes` bytes, Upload-Complete: ?0. */
async function partialUpload(draft: IetfTestServer, file: RandomFile, bytes: number, version: number): Promise<string> {
  const content = await readFile(file.path);
  const response = await fetch(`${draft.url}/target`, {
    method: 'POST',
    headers: {
      'Upload-Draft-Interop-Version': String(version),
      'Upload-Complete': '?0',
      'Upload-Length': String(file.size),
    },
    body: content.subarray(0, bytes),
  });
  await response.arrayBuffer();
  assert.equal(response.status, 201);
  return new URL(response.headers.get('location') ?? '', draft.url).href;
}

for (const version of VERSIONS) {
  test(`interop ${version}: every request carries it; the 104 of that version makes the upload resumable`, async () => {
    const draft = await server();
    const { input, events } = attempt(`${draft.url}/target`, medium, { interopVersion: version });
    const result = await uploadIetf(input);
    assert.equal(result.response.statusCode, 201);
    assert.equal(result.response.isResumable, true);
    assert.equal(events.sessions.length, 1);
    assert.equal(await storedSha(draft, events.sessions[0]!.url), medium.sha256);
    const creation = draft.requests[0]!;
    assert.equal(headerOf(creation.headers, 'upload-draft-interop-version'), String(version));
    assert.equal(headerOf(creation.headers, 'upload-complete'), '?1');
    assert.equal(headerOf(creation.headers, 'upload-length'), String(medium.size));
  });

  test(`interop ${version}: a 104 of another version is ignored — a plain upload, stored exactly`, async () => {
    const draft = await server({ interimVersion: version === 6 ? '8' : '6' });
    const { input, events } = attempt(`${draft.url}/target`, small, { interopVersion: version });
    const result = await uploadIetf(input);
    assert.equal(result.response.isResumable, false);
    assert.deepEqual(events.sessions, []);
    assert.deepEqual(JSON.parse(await readFile(input.responseBodyPath, 'utf8')), {
      sha256: small.sha256,
      bytes: small.size,
    });
  });

  test(`interop ${version}: no 104 on a large upload → OPTIONS, careful creation, appends within max-append-size`, async () => {
    const limits = { maxSize: 64 * MiB, maxAppendSize: MiB, minAppendSize: 256 * 1024, maxAge: 3600 };
    const draft = await server({ send104: false, limits });
    const { input, events } = attempt(`${draft.url}/target`, medium, {
      interopVersion: version,
      largeUploadBytes: MiB,
      first104WaitMs: 500,
    });
    const before = Date.now();
    const result = await uploadIetf(input);
    assert.equal(result.response.statusCode, 201);
    assert.deepEqual(JSON.parse(await readFile(input.responseBodyPath, 'utf8')), {
      sha256: medium.sha256,
      bytes: medium.size,
    });
    assert.equal(events.sessions.length, 1);
    const session = events.sessions[0]!;
    assert.equal(await storedSha(draft, session.url), medium.sha256);
    // `expires` (6) or `max-age` (8): the session knows when the resource goes away.
    assert.ok(session.expiresAtMs! >= before + 3_600_000 && session.expiresAtMs! <= Date.now() + 3_600_000);
    const [stopped, options, careful, ...appends] = draft.requests;
    assert.equal(stopped?.status, 0, 'the creation waiting for a 104 was stopped');
    assert.equal(options?.method, 'OPTIONS');
    assert.equal(careful?.method, 'POST');
    assert.equal(headerOf(careful!.headers, 'upload-complete'), '?0');
    assert.equal(headerOf(careful!.headers, 'content-length'), '0');
    assert.equal(appends.length, Math.ceil(medium.size / MiB));
    for (const [index, append] of appends.entries()) {
      const last = index === appends.length - 1;
      assert.equal(append.method, 'PATCH');
      assert.equal(headerOf(append.headers, 'upload-offset'), String(index * MiB));
      assert.equal(headerOf(append.headers, 'upload-complete'), last ? '?1' : '?0');
      assert.equal(headerOf(append.headers, 'content-type'), 'application/partial-upload');
      assert.equal(headerOf(append.headers, 'content-length'), String(last ? medium.size - index * MiB : MiB));
    }
    // Careful creation acknowledges 0, each append its end.
    assert.deepEqual(events.offsets, [0, MiB, 2 * MiB, 3 * MiB, medium.size]);
  });

  test(`interop ${version}: max-size below the body (OPTIONS) → BT_ERR_UPLOAD_LIMIT, nothing created`, async () => {
    const draft = await server({ send104: false, limits: { maxSize: MiB }, checkSizeAtCreation: false });
    const { input, events } = attempt(`${draft.url}/target`, medium, {
      interopVersion: version,
      largeUploadBytes: MiB,
      first104WaitMs: 500,
    });
    const error = await rejection(uploadIetf(input));
    assert.equal(error.code, 'BT_ERR_UPLOAD_LIMIT');
    assert.equal(error.retryable, false);
    assert.match(error.message, /at most 1048576 bytes/);
    assert.deepEqual(events.sessions, []);
    assert.deepEqual(
      draft.requests.map((request) => request.method),
      ['POST', 'OPTIONS'],
    );
  });

  test(`interop ${version}: a stale HEAD offset gets 409 with the right one; the append goes on from it`, async () => {
    const draft = await server();
    const uploadUrl = await partialUpload(draft, medium, 2 * MiB, version);
    draft.options.headLag = 1000;
    const { input, events } = attempt(`${draft.url}/target`, medium, {
      interopVersion: version,
      session: { uploadUrl },
    });
    const result = await uploadIetf(input);
    assert.equal(result.response.statusCode, 201);
    assert.equal(await storedSha(draft, uploadUrl), medium.sha256);
    const resource = draft.requests.filter((request) => request.url === new URL(uploadUrl).pathname);
    assert.deepEqual(
      resource.map((request) => [request.method, request.status, headerOf(request.headers, 'upload-offset')]),
      [
        ['HEAD', 204, undefined],
        ['PATCH', 409, String(2 * MiB - 1000)],
        ['PATCH', 201, String(2 * MiB)],
      ],
    );
    assert.deepEqual(events.offsets, [2 * MiB - 1000, 2 * MiB, medium.size]);
  });

  test(`interop ${version}: a resume that ends a completing append still flushing sees the upload complete`, async () => {
    // The fault matrix's "PATCH …: the server answered 400": a cut reached the client after the server
    // had read the whole final append, while its last bytes were still being written (a loaded disk).
    // The resume's HEAD ended that request; the server said "every byte, incomplete", then completed the
    // upload, and the resume's empty final PATCH got 400 (6) / 410 (8) for an upload that was complete.
    const draft = await server({ flushDelayMs: 3_000 });
    const uploadUrl = await partialUpload(draft, small, 0, version);
    const upload = draft.uploads.get(draft.uploadId(uploadUrl))!;
    const cut = new AbortController();
    const append = fetch(uploadUrl, {
      method: 'PATCH',
      headers: {
        'Upload-Draft-Interop-Version': String(version),
        'Upload-Offset': '0',
        'Upload-Complete': '?1',
        'Content-Type': 'application/partial-upload',
      },
      body: await readFile(small.path),
      signal: cut.signal,
    }).catch(() => undefined);
    while (upload.receivedBytes < small.size) await sleep(10);
    cut.abort();
    const { input, events } = attempt(`${draft.url}/target`, small, {
      interopVersion: version,
      session: { uploadUrl },
    });
    const result = await uploadIetf(input);
    await append;
    assert.ok(result.response.statusCode < 300, `the resume got ${result.response.statusCode}`);
    assert.equal(await storedSha(draft, uploadUrl), small.sha256);
    assert.deepEqual(events.offsets, [small.size]);
    const resource = draft.requests.filter((request) => request.url === new URL(uploadUrl).pathname);
    assert.deepEqual(
      resource.map((request) => request.method),
      ['PATCH', 'HEAD'],
      'the resume sends nothing more',
    );
  });

  test(`interop ${version}: an error with Upload-Complete: ?1 is final → BT_ERR_UPLOAD_REJECTED, not resumed`, async () => {
    const draft = await server({ failFinal: 500 });
    const { input, events } = attempt(`${draft.url}/target`, small, { interopVersion: version });
    const error = await rejection(uploadIetf(input));
    assert.equal(error.code, 'BT_ERR_UPLOAD_REJECTED');
    assert.equal(error.retryable, false);
    // The status reaches the app as the HTTP HRESULT, as for any HTTP failure; the code keeps it final.
    assert.equal(error.httpStatus, 500);
    assert.equal(error.number, hresultForHttpStatus(500));
    assert.equal(BackgroundTransferError.getStatus(error.number), WebErrorStatus.internalServerError);
    const policy = { maxAttempts: 10, retryBaseDelayMs: 1, maxDelayMs: 1 };
    assert.equal(decideRetry(error, 1, policy, undefined, 0.5).kind, 'fail', 'a final 500 is not retried');
    assert.deepEqual(
      events.responses.map((response) => response.statusCode),
      [500],
      'the response is recorded for the app',
    );
  });

  test(`interop ${version}: a server that speaks only the other version gets a plain upload, stored exactly`, async () => {
    const other = version === 6 ? 8 : 6;
    const draft = await server({ versions: [other], limits: { maxAppendSize: MiB } });
    for (const file of [small, medium]) {
      const { input, events } = attempt(`${draft.url}/target`, file, {
        interopVersion: version,
        largeUploadBytes: MiB,
        first104WaitMs: 500,
      });
      const result = await uploadIetf(input);
      assert.equal(result.response.statusCode, 201);
      assert.equal(result.response.isResumable, false);
      assert.deepEqual(events.sessions, []);
      assert.deepEqual(JSON.parse(await readFile(input.responseBodyPath, 'utf8')), {
        sha256: file.sha256,
        bytes: file.size,
      });
    }
    assert.equal(
      draft.requests.filter(
        (request) => request.method === 'PATCH' || headerOf(request.headers, 'upload-complete') === '?0',
      ).length,
      0,
      'no careful creation and no append went to a server that does not speak the version',
    );
  });
}

test('an upload resource past its expiry is not accessed: BT_ERR_RESUME_LOST (the engine starts over)', async () => {
  const draft = await server();
  const { input } = attempt(`${draft.url}/target`, small, {
    interopVersion: 8,
    session: { uploadUrl: `${draft.url}/uploads/old`, expiresAtMs: Date.now() - 1 },
  });
  const error = await rejection(uploadIetf(input));
  assert.equal(error.code, 'BT_ERR_RESUME_LOST');
  assert.match(error.message, /expired/);
  assert.deepEqual(draft.requests, []);
});

test('max-size in the offset answer below the body: BT_ERR_UPLOAD_LIMIT before any append', async () => {
  const draft = await server();
  const uploadUrl = await partialUpload(draft, medium, MiB, 8);
  draft.options.limits = { maxSize: 2 * MiB };
  const { input } = attempt(`${draft.url}/target`, medium, { interopVersion: 8, session: { uploadUrl } });
  const error = await rejection(uploadIetf(input));
  assert.equal(error.code, 'BT_ERR_UPLOAD_LIMIT');
  assert.equal(draft.requests.filter((request) => request.method === 'PATCH').length, 0);
});

test('interop 8: a 104 whose Upload-Limit max-size is below the body stops the upload and deletes the resource', async () => {
  const draft = await server({ limits: { maxSize: MiB, maxAge: 600 }, checkSizeAtCreation: false });
  const { input, events } = attempt(`${draft.url}/target`, medium, { interopVersion: 8 });
  const error = await rejection(uploadIetf(input));
  assert.equal(error.code, 'BT_ERR_UPLOAD_LIMIT');
  assert.deepEqual(events.sessions, [], 'no session for an upload that cannot finish');
  assert.deepEqual(events.responses, []);
  const deadline = Date.now() + 10_000;
  while (draft.uploads.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(draft.uploads.size, 0, 'the upload resource was cancelled (DELETE)');
  const deleted = draft.requests.find((request) => request.method === 'DELETE');
  assert.equal(headerOf(deleted!.headers, 'upload-draft-interop-version'), '8');
});

test('interop 8: a body below the 104’s min-size is not made resumable; it goes on plain', async () => {
  const draft = await server({ limits: { minSize: 10 * MiB } });
  const { input, events } = attempt(`${draft.url}/target`, small, { interopVersion: 8 });
  const result = await uploadIetf(input);
  assert.equal(result.response.statusCode, 201);
  assert.equal(result.response.isResumable, false);
  assert.deepEqual(events.sessions, []);
  assert.deepEqual(JSON.parse(await readFile(input.responseBodyPath, 'utf8')), {
    sha256: small.sha256,
    bytes: small.size,
  });
});
