import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Dispatcher } from 'undici';
import { BackgroundTransferStatus, BackgroundUploader } from '../../src/index.ts';
import { createDispatcher } from '../../src/net/dispatcher.ts';
import { uploadIetf } from '../../src/protocols/ietf/ietf-upload.ts';
import { uploadTus } from '../../src/protocols/tus/tus-upload.ts';
import { fileBody } from '../../src/source/body-source.ts';
import { inspectSourceFile } from '../../src/source/file-source.ts';
import { useApiHome } from '../helpers/api-home.ts';
import { headerOf, ietfAttempt, rejection, requestLines } from '../helpers/ietf-input.ts';
import { type IetfTestServer, startIetfServer } from '../helpers/ietf-server.ts';
import { type NginxServer, startNginx } from '../helpers/nginx.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startTusServer, type TusTestServer } from '../helpers/tus-server.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

/**
 * A request too large for one message (docs/protocols.md, "413: smaller requests"): Debian's nginx, with
 * its default `client_max_body_size 1m`, in front of the draft server, of @tus/server and of a plain
 * server. nginx answers 413 from the request head and drops 1xx answers, as such proxies do.
 */
const MiB = 1024 * 1024;

let dir: TempDir;
let medium: RandomFile;
let large: RandomFile;
let dispatcher: Dispatcher;
let draft: IetfTestServer;
let plain: UploadServer;
let draftProxy: NginxServer;
let plainProxy: NginxServer;
let tus: TusTestServer;
let tusProxy: NginxServer;

before(async () => {
  dir = await makeTempDir('ietf-size-refusal-');
  medium = await writeRandomFile(dir.path, 'medium.bin', 5 * MiB + 321);
  large = await writeRandomFile(dir.path, 'large.bin', 17 * MiB + 5);
  dispatcher = createDispatcher({ connectTimeoutMs: 5_000, extraCaCertificates: [] });
  draft = await startIetfServer();
  plain = await startUploadServer();
  draftProxy = await startNginx({ proxyTo: draft.url });
  plainProxy = await startNginx({ proxyTo: plain.url });
  tus = await startTusServer({ relativeLocation: true });
  tusProxy = await startNginx({ proxyTo: tus.url });
});

after(async () => {
  await Promise.all([draftProxy?.stop(), plainProxy?.stop(), tusProxy?.stop()]);
  await Promise.all([draft?.close(), plain?.close(), tus?.close()]);
  await dispatcher?.close();
  await dir?.cleanup();
});

/** The draft server's requests since `from`, as "METHOD status length". */
function seenSince(from: number): string[] {
  return requestLines(draft.requests.slice(from));
}

for (const [name, path, file, largeUploadBytes] of [
  ['without a wait for the 104 (as under "auto")', '/at-once', () => medium, Number.POSITIVE_INFINITY],
  ['waiting for the 104', '/waiting', () => large, undefined],
] as const) {
  test(`${name}: nginx refuses the creation with 413; the upload is created carefully and sent in appends of at most 1 MiB`, async () => {
    const body = file();
    const from = draft.requests.length;
    const { input, events } = ietfAttempt(`${draftProxy.url}${path}`, body, dir.path, dispatcher, {
      first104WaitMs: 300,
      ...(largeUploadBytes === undefined ? {} : { largeUploadBytes }),
    });
    const result = await uploadIetf(input);

    assert.equal(result.response.statusCode, 201);
    assert.deepEqual(JSON.parse(await readFile(input.responseBodyPath, 'utf8')), {
      sha256: body.sha256,
      bytes: body.size,
    });
    assert.equal(events.sessions.length, 1, 'one upload resource, from the careful creation');
    const uploadId = draft.uploadId(events.sessions[0]!.url);
    assert.equal(await draft.sha256(uploadId), body.sha256);
    assert.equal(events.offsets.at(-1), body.size);

    // What reached the server: no refused request (nginx answered those), the OPTIONS probe, the empty
    // creation, then appends that each fit nginx's limit and together carry the body once.
    const seen = seenSince(from);
    assert.ok(seen.includes('OPTIONS 204 -'), seen.join('\n'));
    const patches = draft.requests.slice(from).filter((request) => request.method === 'PATCH');
    const lengths = patches.map((request) => Number(headerOf(request.headers, 'content-length')));
    assert.ok(
      lengths.every((length) => length <= MiB),
      `append sizes: ${lengths.join(', ')}`,
    );
    assert.equal(
      lengths.reduce((sum, length) => sum + length, 0),
      body.size,
    );
    assert.ok(
      patches.every((request) => request.status === 201 || request.status === 204),
      seen.join('\n'),
    );
  });
}

test('a plain server behind the proxy: OPTIONS finds no draft, and the 413 stays the answer', async () => {
  const from = plain.requests.length;
  const { input, events } = ietfAttempt(`${plainProxy.url}/target`, medium, dir.path, dispatcher, { method: 'PUT' });
  const result = await uploadIetf(input);
  assert.equal(result.response.statusCode, 413);
  assert.equal(result.response.isResumable, false);
  assert.deepEqual(events.sessions, []);
  assert.deepEqual(
    plain.requests.slice(from).map((request) => request.method),
    ['OPTIONS'],
    'the plain server saw only the probe',
  );
});

test('a 413 with Upload-Complete: ?1 is the target resource’s verdict: rejected, not split', async () => {
  const strict = await startIetfServer({ failFinal: 413 });
  try {
    const { input } = ietfAttempt(`${strict.url}/target`, medium, dir.path, dispatcher);
    const error = await rejection(uploadIetf(input));
    assert.equal(error.code, 'BT_ERR_UPLOAD_REJECTED');
    assert.deepEqual(
      strict.requests.map((request) => request.method),
      ['POST'],
    );
  } finally {
    await strict.close();
  }
});

test('a limit that does not give way: appends stop at 16 KiB with BT_ERR_UPLOAD_LIMIT and the 413', async () => {
  const tight = await startNginx({ proxyTo: draft.url, clientMaxBodySize: '1k' });
  try {
    const from = draft.requests.length;
    const { input } = ietfAttempt(`${tight.url}/target`, medium, dir.path, dispatcher);
    const error = await rejection(uploadIetf(input));
    assert.equal(error.code, 'BT_ERR_UPLOAD_LIMIT');
    assert.equal(error.httpStatus, 413);
    assert.match(error.message, /PATCH http:\/\/127\.0\.0\.1:\d+\/uploads\/\w+ answered 413 .* 16384 bytes/);
    // Halved down from 4 MiB: 4 MiB, 2 MiB … 16 KiB, each refused by nginx, none reached the server.
    assert.deepEqual(
      seenSince(from).filter((line) => line.startsWith('PATCH')),
      [],
    );
  } finally {
    await tight.stop();
  }
});

test('the server itself takes at most 1 MiB per request: after its 104 and 413 the offset is asked and the rest appended', async () => {
  const limited = await startIetfServer({ requestLimit: MiB });
  try {
    const { input, events } = ietfAttempt(`${limited.url}/target`, medium, dir.path, dispatcher);
    const result = await uploadIetf(input);
    assert.equal(result.response.statusCode, 201);
    assert.equal(events.sessions.length, 1, 'the 104’s upload resource is kept');
    assert.equal(await limited.sha256(limited.uploadId(events.sessions[0]!.url)), medium.sha256);
    const lines = requestLines(limited.requests);
    // The creation (413), HEAD for the offset, then appends halved from 4 MiB until one fits.
    assert.deepEqual(lines.slice(0, 5), [
      `POST 413 ${medium.size}`,
      'HEAD 204 -',
      `PATCH 413 ${4 * MiB}`,
      `PATCH 413 ${2 * MiB}`,
      `PATCH 204 ${MiB}`,
    ]);
    assert.equal(lines.length, 5 + 5, lines.join('\n'));
  } finally {
    await limited.close();
  }
});

test('through the engine, in process: resumeProtocol "ietf" behind nginx completes with the server’s answer', async () => {
  const home = await useApiHome({}, 'ietf-size-refusal');
  try {
    const uploader = new BackgroundUploader();
    uploader.resumeProtocol = 'ietf';
    const operation = uploader.createUpload(`${draftProxy.url}/engine`, medium.path);
    await operation.startAsync();
    assert.equal(operation.progress.status, BackgroundTransferStatus.completed);
    assert.equal(operation.progress.bytesSent, medium.size);
    const information = operation.getResponseInformation();
    assert.equal(information?.statusCode, 201);
    assert.equal(information?.isResumable, true);
    const stored = [...draft.uploads.values()].find((upload) => upload.complete && upload.length === medium.size);
    assert.ok(stored, 'the server kept the upload resource');
  } finally {
    await home.cleanup();
  }
});

/**
 * A tus upload of `medium` through `proxy` (creation with upload when `extensions` names it), checked
 * to arrive whole with each byte stored once; returns the requests that reached @tus/server.
 */
async function tusThrough(proxy: NginxServer, extensions: string[] = []): Promise<TusTestServer['requests']> {
  const from = tus.requests.length;
  const sessions: string[] = [];
  const result = await uploadTus({
    endpoint: new URL(`${proxy.url}/files/`),
    headers: [],
    body: fileBody(inspectSourceFile(medium.path)),
    metadata: {},
    extensions,
    session: null,
    dispatcher,
    signal: new AbortController().signal,
    responseTimeoutMs: 10_000,
    stallTimeoutMs: 5_000,
    responseBodyPath: join(dir.path, `tus-response-${from}.bin`),
    onSession: (uploadUrl) => sessions.push(uploadUrl),
    onOffset() {},
    onBytesSent() {},
    onResponse() {},
    onBytesReceived() {},
  });
  assert.equal(result.response.statusCode, 204);
  assert.equal(sessions.length, 1);
  const id = tus.uploadId(sessions[0]!);
  assert.equal(await tus.sha256(id), medium.sha256);
  assert.equal(tus.receivedBytes(id), medium.size, 'no byte reached the store twice');
  return tus.requests.slice(from);
}

/** The Content-Length of each PATCH among `requests`. */
function patchLengths(requests: TusTestServer['requests']): number[] {
  return requests
    .filter((request) => request.method === 'PATCH')
    .map((request) => Number(headerOf(request.headers, 'content-length')));
}

test('tus behind the proxy: a PATCH refused with 413 goes again in smaller PATCHes, each byte stored once', async () => {
  const lengths = patchLengths(await tusThrough(tusProxy));
  assert.ok(lengths.length >= 5 && lengths.every((length) => length <= MiB), `PATCH sizes: ${lengths.join(', ')}`);
});

test('tus with creation-with-upload behind a 100 KiB limit: the refused creation is made again without body bytes', async () => {
  const narrow = await startNginx({ proxyTo: tus.url, clientMaxBodySize: '100k' });
  try {
    const reached = await tusThrough(narrow, ['creation', 'creation-with-upload']);
    // nginx refused the first creation (256 KiB of body): the server saw only the one without a body.
    assert.deepEqual(
      reached
        .filter((request) => request.method === 'POST')
        .map((request) => headerOf(request.headers, 'content-length') ?? '0'),
      ['0'],
    );
    const lengths = patchLengths(reached);
    assert.ok(
      lengths.every((length) => length <= 100 * 1024),
      `PATCH sizes: ${lengths.join(', ')}`,
    );
  } finally {
    await narrow.stop();
  }
});
