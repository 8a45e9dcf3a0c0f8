import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Dispatcher, request } from 'undici';
import { TransferError } from '../../src/core/errors.ts';
import type { ResponseSnapshot } from '../../src/core/snapshot.ts';
import { createDispatcher } from '../../src/net/dispatcher.ts';
import { probeTus, terminateTus } from '../../src/protocols/tus/tus-control.ts';
import { type TusUploadInput, uploadTus } from '../../src/protocols/tus/tus-upload.ts';
import { fileBody } from '../../src/source/body-source.ts';
import { inspectSourceFile } from '../../src/source/file-source.ts';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startTusServer, type TusTestServer } from '../helpers/tus-server.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

const MiB = 1024 * 1024;

let dir: TempDir;
let big: RandomFile;
let small: RandomFile;
let dispatcher: Dispatcher;
let tus: TusTestServer;
let plain: UploadServer;
const closers: Array<() => Promise<void>> = [];
let responseCounter = 0;

before(async () => {
  dir = await makeTempDir('tus-upload-test-');
  big = await writeRandomFile(dir.path, 'big.bin', 24 * MiB + 4321);
  small = await writeRandomFile(dir.path, 'small.bin', 300_000);
  dispatcher = createDispatcher({ connectTimeoutMs: 5_000, extraCaCertificates: [] });
  tus = await startTusServer();
  plain = await startUploadServer();
});

after(async () => {
  await Promise.all(closers.map((close) => close()));
  await Promise.all([tus.close(), plain.close()]);
  await dispatcher.close();
  await dir.cleanup();
});

async function proxyTo(port: number): Promise<FaultProxy> {
  const proxy = await startFaultProxy(port);
  closers.push(() => proxy.close());
  return proxy;
}

/** Everything the callbacks reported, in order. */
interface Events {
  log: string[];
  sessions: string[];
  offsets: number[];
  sent: number[];
  responses: ResponseSnapshot[];
}

function tusInput(
  endpoint: string,
  file: RandomFile,
  overrides: Partial<TusUploadInput> = {},
): { input: TusUploadInput; events: Events } {
  const events: Events = { log: [], sessions: [], offsets: [], sent: [], responses: [] };
  responseCounter += 1;
  const input: TusUploadInput = {
    endpoint: new URL(endpoint),
    headers: [['X-App', 'yes']],
    body: fileBody(inspectSourceFile(file.path)),
    metadata: { filename: 'big file.bin', note: 'ünïcode' },
    session: null,
    dispatcher,
    signal: new AbortController().signal,
    responseTimeoutMs: 10_000,
    stallTimeoutMs: 5_000,
    responseBodyPath: join(dir.path, `response-${responseCounter}.bin`),
    onSession(uploadUrl) {
      events.sessions.push(uploadUrl);
      events.log.push('session');
    },
    onOffset(offset) {
      events.offsets.push(offset);
      events.log.push(`offset:${offset}`);
    },
    onBytesSent(bytesSent) {
      events.sent.push(bytesSent);
      if (bytesSent > 0 && !events.log.includes('first-byte')) events.log.push('first-byte');
    },
    onResponse(response) {
      events.responses.push(response);
      events.log.push(`response:${response.statusCode}`);
    },
    onBytesReceived() {},
    ...overrides,
  };
  return { input, events };
}

async function rejection(promise: Promise<unknown>): Promise<TransferError> {
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof TransferError, `expected a TransferError, got ${String(error)}`);
  return error;
}

test('a full upload arrives sha256-exact; onSession comes after creation and before any PATCH byte', async () => {
  let patchesAtSession = -1;
  const { input, events } = tusInput(tus.endpoint, big, {
    onSession(uploadUrl) {
      events.sessions.push(uploadUrl);
      events.log.push('session');
      patchesAtSession = tus.requests.filter((candidate) => candidate.method === 'PATCH').length;
    },
  });
  const result = await uploadTus(input);

  assert.equal(result.response.statusCode, 204);
  assert.equal(events.sessions.length, 1);
  const uploadUrl = events.sessions[0]!;
  assert.ok(uploadUrl.startsWith(tus.endpoint), uploadUrl);
  assert.equal(result.response.actualUri, uploadUrl);
  assert.equal(result.response.isResumable, true);
  const id = tus.uploadId(uploadUrl);
  assert.equal(await tus.sha256(id), big.sha256);
  assert.equal(tus.receivedBytes(id), big.size, 'every byte arrived once');
  assert.equal(patchesAtSession, 0, 'no PATCH had reached the server when onSession ran');
  assert.deepEqual(events.log.slice(0, 3), ['session', 'offset:0', 'first-byte']);
  assert.equal(events.log.at(-1), `offset:${big.size}`);
  assert.deepEqual(
    events.responses.map((response) => response.statusCode),
    [204],
  );
  assert.equal(events.sent.at(-1), big.size);
  // An empty answer leaves no response file (read as an empty body): none is created for a 204.
  assert.equal(existsSync(input.responseBodyPath), false, 'no response file for the empty 204 body');

  const methods = tus.requests.filter((candidate) => candidate.url.startsWith('/files')).map((r) => r.method);
  assert.deepEqual(methods.slice(-2), ['POST', 'PATCH']);
  const post = tus.requests.findLast((candidate) => candidate.method === 'POST')!;
  const header = (name: string) => post.headers.find(([candidate]) => candidate.toLowerCase() === name)?.[1];
  assert.equal(header('tus-resumable'), '1.0.0');
  assert.equal(header('upload-length'), String(big.size));
  assert.equal(header('x-app'), 'yes', 'app headers go on every request');
  // The server keeps the metadata and hands it back on HEAD (creation extension).
  const head = await request(uploadUrl, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' }, dispatcher });
  const metadata = Object.fromEntries(
    String(head.headers['upload-metadata'])
      .split(',')
      .map((pair) => pair.split(' '))
      .map(([key, value]) => [key, Buffer.from(value ?? '', 'base64').toString('utf8')]),
  );
  assert.deepEqual(metadata, { filename: 'big file.bin', note: 'ünïcode' });
});

test('a relative Location is resolved against the creation endpoint', async () => {
  const relative = await startTusServer({ relativeLocation: true });
  closers.push(() => relative.close());
  const { input, events } = tusInput(relative.endpoint, small);
  const result = await uploadTus(input);
  assert.equal(result.response.statusCode, 204);
  assert.ok(events.sessions[0]?.startsWith(`${relative.url}/files/`), events.sessions[0]);
  assert.equal(await relative.sha256(relative.uploadId(events.sessions[0]!)), small.sha256);
});

test('after a reset at a random offset, the next attempt HEADs and sends only the rest', async () => {
  const proxy = await proxyTo(tus.port);
  const cutAt = Math.floor(big.size * (0.2 + Math.random() * 0.6));
  // Every connection of the first attempt is cut after cutAt bytes (undici may open a new one for
  // the PATCH); the first attempt has its own dispatcher, like a process that then died.
  proxy.setDefaultPlan({ resetAfterUpstreamBytes: cutAt });
  const endpoint = `${proxy.url}/files/`;
  const firstDispatcher = createDispatcher({ connectTimeoutMs: 5_000, extraCaCertificates: [] });
  const first = tusInput(endpoint, big, { dispatcher: firstDispatcher });
  const error = await rejection(uploadTus(first.input));
  await firstDispatcher.destroy();
  proxy.setDefaultPlan({});
  assert.ok(['BT_ERR_CONNECTION_RESET', 'BT_ERR_CONNECTION_ABORTED'].includes(error.code), error.message);
  assert.equal(error.retryable, true);
  assert.equal(first.events.sessions.length, 1, 'the session was handed out before the cut');
  const uploadUrl = first.events.sessions[0]!;
  const sentBeforeCut = Math.max(...first.events.sent);

  const second = tusInput(endpoint, big, { session: { uploadUrl } });
  const result = await uploadTus(second.input);
  assert.equal(result.response.statusCode, 204);
  assert.equal(second.events.sessions.length, 0, 'no new upload is created');
  const resumedAt = second.events.offsets[0]!;
  assert.ok(resumedAt > 0 && resumedAt <= cutAt, `resumed at ${resumedAt}, cut at ${cutAt}`);
  assert.equal(second.events.sent[0], resumedAt, 'progress starts at the acknowledged offset');
  const id = tus.uploadId(uploadUrl);
  assert.equal(await tus.sha256(id), big.sha256);

  const secondPatch = tus.requests.findLast((candidate) => candidate.method === 'PATCH')!;
  const offsetHeader = secondPatch.headers.find(([name]) => name.toLowerCase() === 'upload-offset')?.[1];
  assert.equal(offsetHeader, String(resumedAt));
  // Re-sent = what the client handed over before the cut but the server had not stored: bytes that
  // were in flight (client and proxy socket buffers). The server itself never got a byte twice.
  const reSent = sentBeforeCut - resumedAt;
  const serverReceived = tus.receivedBytes(id);
  const inFlight = sentBeforeCut - (serverReceived - (big.size - resumedAt));
  const cut = proxy.connections.find((connection) => connection.fault === 'reset')!;
  console.log(
    `tus resume: cut after ${cutAt} proxied bytes (proxy dropped ${cut.upstreamRead - cut.upstreamBytes} it had ` +
      `read); client had handed over ${sentBeforeCut}, server kept ` +
      `${resumedAt}; re-sent ${reSent} bytes (${((reSent / big.size) * 100).toFixed(1)} % of ${big.size}); ` +
      `server received ${serverReceived} in all`,
  );
  assert.ok(reSent <= inFlight, `re-sent ${reSent} > in flight ${inFlight}`);
  assert.equal(serverReceived, big.size, 'no byte reached the server twice');
});

test('chunkSizeBytes splits the body into PATCHes; each acknowledged offset is reported', async () => {
  const chunk = 5 * MiB;
  const { input, events } = tusInput(tus.endpoint, big, { chunkSizeBytes: chunk });
  const result = await uploadTus(input);
  assert.equal(result.response.statusCode, 204);
  const expected = [0, chunk, 2 * chunk, 3 * chunk, 4 * chunk, big.size];
  assert.deepEqual(events.offsets, expected);
  assert.deepEqual(events.responses.length, 1, 'only the last PATCH answer is the final response');
  assert.equal(await tus.sha256(tus.uploadId(events.sessions[0]!)), big.sha256);
});

test('409 on PATCH: the offset is queried again once and the upload continues from there', async () => {
  const server = await startUploadServer();
  closers.push(() => server.close());
  const content = await readFile(small.path);
  const heads = [1000, 4096];
  let patches = 0;
  let alwaysConflict = false;
  server.route('/files/u1', (recorded) => {
    const tusHeaders: Array<[string, string]> = [['Tus-Resumable', '1.0.0']];
    if (recorded.method === 'HEAD') {
      const offset = heads.shift() ?? 0;
      return {
        status: 200,
        headers: [...tusHeaders, ['Upload-Offset', String(offset)], ['Upload-Length', String(small.size)]],
      };
    }
    patches += 1;
    if (patches === 1 || alwaysConflict) return { status: 409, headers: tusHeaders, body: 'offset mismatch' };
    return { status: 204, headers: [...tusHeaders, ['Upload-Offset', String(small.size)]] };
  });
  const { input, events } = tusInput(`${server.url}/files/`, small, {
    session: { uploadUrl: `${server.url}/files/u1` },
  });
  const result = await uploadTus(input);
  assert.equal(result.response.statusCode, 204);
  assert.deepEqual(events.offsets, [1000, 4096, small.size]);
  const sent = server.requests.filter((candidate) => candidate.method === 'PATCH');
  assert.deepEqual(
    sent.map((candidate) => candidate.headers.find(([name]) => name.toLowerCase() === 'upload-offset')?.[1]),
    ['1000', '4096'],
  );
  assert.equal(sent[1]?.sha256, createHash('sha256').update(content.subarray(4096)).digest('hex'));
  assert.equal(
    sent[1]?.headers.find(([name]) => name.toLowerCase() === 'content-type')?.[1],
    'application/offset+octet-stream',
  );

  // A second 409 in a row is an error (retryable: the next attempt asks again).
  heads.push(0, 0, 0);
  alwaysConflict = true;
  const again = tusInput(`${server.url}/files/`, small, { session: { uploadUrl: `${server.url}/files/u1` } });
  const error = await rejection(uploadTus(again.input));
  assert.equal(error.code, 'BT_ERR_OFFSET_MISMATCH');
  assert.equal(error.retryable, true);
  assert.deepEqual(
    server.requests.slice(-4).map((candidate) => candidate.method),
    ['HEAD', 'PATCH', 'HEAD', 'PATCH'],
  );
});

test('terminateTus deletes the upload; a lost session → BT_ERR_RESUME_LOST', async () => {
  const { input, events } = tusInput(tus.endpoint, small);
  await uploadTus(input);
  const uploadUrl = events.sessions[0]!;
  const id = tus.uploadId(uploadUrl);
  assert.equal(tus.exists(id), true);
  await terminateTus(uploadUrl, dispatcher, [], new AbortController().signal);
  assert.equal(tus.exists(id), false);
  const deletes = tus.requests.filter((candidate) => candidate.method === 'DELETE');
  assert.equal(deletes.at(-1)?.headers.find(([name]) => name.toLowerCase() === 'tus-resumable')?.[1], '1.0.0');
  // Already gone (404): not an error.
  await terminateTus(uploadUrl, dispatcher, [], new AbortController().signal);

  const resumed = tusInput(tus.endpoint, small, { session: { uploadUrl } });
  const error = await rejection(uploadTus(resumed.input));
  assert.equal(error.code, 'BT_ERR_RESUME_LOST');
  assert.equal(error.retryable, false);
  assert.equal(resumed.events.responses.length, 0, 'a lost session is not a final response');
});

test('a session for a body of another length is lost too (BT_ERR_RESUME_LOST)', async () => {
  const { input, events } = tusInput(tus.endpoint, small);
  await uploadTus(input);
  const other = tusInput(tus.endpoint, big, { session: { uploadUrl: events.sessions[0]! } });
  const error = await rejection(uploadTus(other.input));
  assert.equal(error.code, 'BT_ERR_RESUME_LOST');
  assert.match(error.message, /300000/);
});

test('a creation the server refuses (413) is the final response, with no session', async () => {
  const limited = await startTusServer({ maxSize: 1000 });
  closers.push(() => limited.close());
  const { input, events } = tusInput(limited.endpoint, small);
  const result = await uploadTus(input);
  assert.equal(result.response.statusCode, 413);
  assert.equal(events.sessions.length, 0);
  assert.match(await readFile(input.responseBodyPath, 'utf8'), /maximum size/i);
  assert.equal(result.bytesReceived, (await stat(input.responseBodyPath)).size);
});

test('probeTus: true for @tus/server, false for a plain upload server', async () => {
  const signal = new AbortController().signal;
  assert.equal(await probeTus(new URL(tus.endpoint), dispatcher, signal, [['Authorization', 'Bearer x']]), true);
  const options = tus.requests.findLast((candidate) => candidate.method === 'OPTIONS')!;
  assert.ok(!options.headers.some(([name]) => name.toLowerCase() === 'tus-resumable'), 'no Tus-Resumable on OPTIONS');
  assert.ok(options.headers.some(([name]) => name === 'Authorization'));
  assert.equal(await probeTus(new URL(`${plain.url}/upload`), dispatcher, signal, []), false);
});
