import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import type { Dispatcher } from 'undici';
import { createDispatcher } from '../../src/net/dispatcher.ts';
import { type IetfUploadInput, terminateIetf, uploadIetf } from '../../src/protocols/ietf/ietf-upload.ts';
import { startFaultProxy } from '../helpers/fault-proxy.ts';
import { headerOf, ietfAttempt, rejection } from '../helpers/ietf-input.ts';
import { type IetfTestServer, startIetfServer } from '../helpers/ietf-server.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

const MiB = 1024 * 1024;

let dir: TempDir;
let big: RandomFile;
let small: RandomFile;
let dispatcher: Dispatcher;
let draft: IetfTestServer;
let plain: UploadServer;
const closers: Array<() => Promise<void>> = [];

before(async () => {
  dir = await makeTempDir('ietf-upload-test-');
  big = await writeRandomFile(dir.path, 'big.bin', 24 * MiB + 999);
  small = await writeRandomFile(dir.path, 'small.bin', 200_000);
  dispatcher = createDispatcher({ connectTimeoutMs: 5_000, extraCaCertificates: [] });
  draft = await startIetfServer();
  plain = await startUploadServer();
});

after(async () => {
  await Promise.all(closers.map((close) => close()));
  await Promise.all([draft.close(), plain.close()]);
  await dispatcher.close();
  await dir.cleanup();
});

/** An attempt with this file's short timeouts (stalls are part of what it tests). */
function ietfInput(endpoint: string, file: RandomFile, overrides: Partial<IetfUploadInput> = {}) {
  return ietfAttempt(endpoint, file, dir.path, dispatcher, {
    responseTimeoutMs: 10_000,
    stallTimeoutMs: 5_000,
    ...overrides,
  });
}

test('a server that ignores the draft: a plain upload (redirects too), no session', async () => {
  plain.route('/start', () => ({ redirect: '/final', status: 308 }));
  const { input, events } = ietfInput(`${plain.url}/start`, small, { method: 'PUT' });
  const result = await uploadIetf(input);
  assert.equal(result.response.statusCode, 201);
  assert.equal(result.response.actualUri, `${plain.url}/final`);
  assert.equal(result.response.isResumable, false);
  assert.deepEqual(JSON.parse(await readFile(input.responseBodyPath, 'utf8')), {
    sha256: small.sha256,
    bytes: small.size,
  });
  assert.deepEqual(events.sessions, []);
  const final = plain.requests.find((candidate) => candidate.url === '/final')!;
  assert.equal(final.method, 'PUT');
  assert.equal(headerOf(final.headers, 'upload-draft-interop-version'), '6');
  assert.equal(headerOf(final.headers, 'upload-complete'), '?1');
  assert.equal(headerOf(final.headers, 'content-type'), 'application/octet-stream');
  assert.equal(headerOf(final.headers, 'content-length'), String(small.size));
});

test('a draft server: the 104 Location goes to onSession at once; the final response is the app’s', async () => {
  const { input, events } = ietfInput(`${draft.url}/target?x=1`, big);
  const result = await uploadIetf(input);
  assert.equal(events.sessions.length, 1);
  const session = events.sessions[0]!;
  assert.match(session.url, new RegExp(`^${draft.url}/uploads/[0-9a-f]{24}$`));
  assert.ok(session.sentSoFar < big.size, `onSession came after ${session.sentSoFar} of ${big.size} bytes`);
  assert.equal(result.response.statusCode, 201);
  assert.equal(result.response.isResumable, true);
  assert.equal(result.response.actualUri, `${draft.url}/target?x=1`);
  assert.deepEqual(JSON.parse(await readFile(input.responseBodyPath, 'utf8')), { sha256: big.sha256, bytes: big.size });
  assert.equal(draft.uploads.get(draft.uploadId(session.url))?.receivedBytes, big.size);
});

test('cut mid-body by the proxy: the next attempt HEADs and PATCHes from the acknowledged offset', async () => {
  const proxy = await startFaultProxy(draft.port);
  closers.push(() => proxy.close());
  const cutAt = Math.floor(big.size * (0.2 + Math.random() * 0.6));
  proxy.setDefaultPlan({ resetAfterUpstreamBytes: cutAt });
  const firstDispatcher = createDispatcher({ connectTimeoutMs: 5_000, extraCaCertificates: [] });
  const first = ietfInput(`${proxy.url}/target`, big, { dispatcher: firstDispatcher });
  const error = await rejection(uploadIetf(first.input));
  await firstDispatcher.destroy();
  proxy.setDefaultPlan({});
  assert.ok(['BT_ERR_CONNECTION_RESET', 'BT_ERR_CONNECTION_ABORTED'].includes(error.code), error.message);
  assert.equal(first.events.sessions.length, 1);
  const uploadUrl = first.events.sessions[0]!.url;
  assert.ok(uploadUrl.startsWith(`${proxy.url}/uploads/`), 'the relative Location is resolved against the request');
  const sentBeforeCut = Math.max(...first.events.sent);

  const second = ietfInput(`${proxy.url}/target`, big, { session: { uploadUrl } });
  const result = await uploadIetf(second.input);
  assert.equal(result.response.statusCode, 201);
  assert.deepEqual(JSON.parse(await readFile(second.input.responseBodyPath, 'utf8')), {
    sha256: big.sha256,
    bytes: big.size,
  });
  const id = draft.uploadId(uploadUrl);
  assert.equal(await draft.sha256(id), big.sha256);
  const resumedAt = second.events.offsets[0]!;
  assert.ok(resumedAt > 0 && resumedAt <= cutAt, `resumed at ${resumedAt}, cut at ${cutAt}`);
  assert.deepEqual(second.events.offsets, [resumedAt, big.size]);

  const [head, patch] = draft.requests.filter((candidate) => candidate.url === `/uploads/${id}`);
  assert.equal(head?.method, 'HEAD');
  assert.equal(headerOf(head!.headers, 'upload-draft-interop-version'), '6');
  assert.equal(headerOf(head!.headers, 'authorization'), 'Bearer t', 'app credentials go to the upload resource');
  assert.equal(patch?.method, 'PATCH');
  assert.equal(headerOf(patch!.headers, 'upload-offset'), String(resumedAt));
  assert.equal(headerOf(patch!.headers, 'upload-complete'), '?1');
  assert.equal(headerOf(patch!.headers, 'content-type'), 'application/partial-upload');
  assert.equal(headerOf(patch!.headers, 'content-length'), String(big.size - resumedAt));
  // Re-sent = what the client handed over before the cut but the server had not stored: bytes in
  // flight (client and proxy socket buffers, dropped by the RST). The server never got a byte twice.
  const reSent = sentBeforeCut - resumedAt;
  const received = draft.uploads.get(id)?.receivedBytes ?? 0;
  const inFlight = sentBeforeCut - (received - (big.size - resumedAt));
  const cut = proxy.connections.find((connection) => connection.fault === 'reset')!;
  console.log(
    `ietf resume: cut after ${cutAt} proxied bytes (proxy dropped ${cut.upstreamRead - cut.upstreamBytes} it had ` +
      `read); client had handed over ${sentBeforeCut}, server kept ${resumedAt}; re-sent ${reSent} bytes ` +
      `(${((reSent / big.size) * 100).toFixed(1)} % of ${big.size}); server received ${received} in all`,
  );
  assert.ok(reSent <= inFlight, `re-sent ${reSent} > in flight ${inFlight}`);
  assert.equal(received, big.size, 'no byte reached the server twice');
});

test('an upload the server reports complete: the HEAD answer is the final response, nothing is sent', async () => {
  const { input, events } = ietfInput(`${draft.url}/target`, small);
  await uploadIetf(input);
  const uploadUrl = events.sessions[0]!.url;
  const again = ietfInput(`${draft.url}/target`, small, { session: { uploadUrl } });
  const result = await uploadIetf(again.input);
  assert.equal(result.response.statusCode, 204);
  assert.equal(headerOf(result.response.headers, 'upload-complete'), '?1');
  assert.deepEqual(again.events.offsets, [small.size]);
  assert.equal(draft.requests.at(-1)?.method, 'HEAD');
});

test('a lost session → BT_ERR_RESUME_LOST; terminateIetf deletes an upload (and ignores a gone one)', async () => {
  const { input, events } = ietfInput(`${draft.url}/target`, small);
  await uploadIetf(input);
  const uploadUrl = events.sessions[0]!.url;
  const id = draft.uploadId(uploadUrl);
  await terminateIetf(uploadUrl, dispatcher, [['Authorization', 'Bearer t']], new AbortController().signal);
  assert.equal(draft.uploads.has(id), false);
  const deleted = draft.requests.at(-1)!;
  assert.equal(deleted.method, 'DELETE');
  assert.equal(headerOf(deleted.headers, 'upload-draft-interop-version'), '6');
  await terminateIetf(uploadUrl, dispatcher, [], new AbortController().signal);

  const resumed = ietfInput(`${draft.url}/target`, small, { session: { uploadUrl } });
  const error = await rejection(uploadIetf(resumed.input));
  assert.equal(error.code, 'BT_ERR_RESUME_LOST');
  assert.equal(error.retryable, false);
  assert.deepEqual(resumed.events.responses, []);
});

test('409 on PATCH: the offset is queried again once; a second 409 → BT_ERR_OFFSET_MISMATCH', async () => {
  const server = await startUploadServer();
  closers.push(() => server.close());
  const content = await readFile(small.path);
  const offsets = [100, 5000];
  let conflicts = 1;
  server.route('/uploads/u', (recorded) => {
    if (recorded.method === 'HEAD') {
      return {
        status: 204,
        headers: [
          ['Upload-Offset', String(offsets.shift() ?? 0)],
          ['Upload-Complete', '?0'],
        ],
      };
    }
    if (conflicts > 0) {
      conflicts -= 1;
      return { status: 409, body: 'mismatching-upload-offset' };
    }
    return { status: 200, headers: [['Content-Type', 'text/plain']], body: 'stored' };
  });
  const { input, events } = ietfInput(`${server.url}/target`, small, {
    session: { uploadUrl: `${server.url}/uploads/u` },
  });
  const result = await uploadIetf(input);
  assert.equal(result.response.statusCode, 200);
  assert.equal(await readFile(input.responseBodyPath, 'utf8'), 'stored');
  assert.deepEqual(events.offsets, [100, 5000, small.size]);
  const patches = server.requests.filter((candidate) => candidate.method === 'PATCH');
  assert.deepEqual(
    patches.map((candidate) => headerOf(candidate.headers, 'upload-offset')),
    ['100', '5000'],
  );
  assert.equal(patches[1]?.sha256, createHash('sha256').update(content.subarray(5000)).digest('hex'));

  offsets.push(0, 0);
  conflicts = 2;
  const again = ietfInput(`${server.url}/target`, small, { session: { uploadUrl: `${server.url}/uploads/u` } });
  const error = await rejection(uploadIetf(again.input));
  assert.equal(error.code, 'BT_ERR_OFFSET_MISMATCH');
});

test('only a 104 of the interop version sent (6) is taken; 3, 7, 8 and 99 are ignored (a plain upload)', async () => {
  for (const [version, expectSession] of [
    ['6', true],
    ['3', false],
    ['7', false],
    ['8', false],
    ['99', false],
  ] as const) {
    const server = await startIetfServer({ interimVersion: version });
    closers.push(() => server.close());
    const { input, events } = ietfInput(`${server.url}/target`, small);
    const result = await uploadIetf(input);
    assert.equal(result.response.statusCode, 201, `interop ${version}`);
    assert.equal(events.sessions.length, expectSession ? 1 : 0, `interop ${version}`);
    assert.equal(result.response.isResumable, expectSession);
    assert.deepEqual(JSON.parse(await readFile(input.responseBodyPath, 'utf8')), {
      sha256: small.sha256,
      bytes: small.size,
    });
  }
});
