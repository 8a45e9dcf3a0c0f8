import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Dispatcher } from 'undici';
import { TransferError } from '../../src/core/errors.ts';
import type { ResponseSnapshot } from '../../src/core/snapshot.ts';
import { createDispatcher } from '../../src/net/dispatcher.ts';
import { parseChallenges } from '../../src/protocols/http/auth-challenge.ts';
import { digestResponse } from '../../src/protocols/http/digest-auth.ts';
import { uploadHttp } from '../../src/protocols/http/http-upload.ts';
import type { HttpUploadInput } from '../../src/protocols/http/http-upload-types.ts';
import type { ResumableUploadInput } from '../../src/protocols/http/resumable-types.ts';
import { terminateIetf, uploadIetf } from '../../src/protocols/ietf/ietf-upload.ts';
import { probeTus, terminateTus } from '../../src/protocols/tus/tus-control.ts';
import { uploadTus } from '../../src/protocols/tus/tus-upload.ts';
import { fileBody } from '../../src/source/body-source.ts';
import { inspectSourceFile } from '../../src/source/file-source.ts';
import { type AuthRecord, type DigestServer, startDigestServer } from '../helpers/digest-server.ts';
import { startIetfServer } from '../helpers/ietf-server.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { createTusApp } from '../helpers/tus-server.ts';
import { startUploadServer } from '../helpers/upload-server.ts';

const MiB = 1024 * 1024;
const USER = 'Mufasa';
const PASSWORD = 'Circle of Life: s3cret-ünï';
const CREDENTIALS = { userName: USER, password: PASSWORD };
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`, 'utf8').toString('base64')}`;

let dir: TempDir;
let file: RandomFile;
let small: RandomFile;
let dispatcher: Dispatcher;
const closers: Array<() => Promise<void>> = [];
let counter = 0;

before(async () => {
  dir = await makeTempDir('http-auth-test-');
  // Not a multiple of the read chunk; big enough that a 401 arrives while the body is still going out.
  file = await writeRandomFile(dir.path, 'file.bin', 3 * MiB + 4321);
  small = await writeRandomFile(dir.path, 'small.bin', 100_000);
  dispatcher = createDispatcher({ connectTimeoutMs: 5_000, extraCaCertificates: [] });
});

after(async () => {
  await Promise.all(closers.map((close) => close()));
  await dispatcher.close();
  await dir.cleanup();
});

async function digestServer(options: Partial<Parameters<typeof startDigestServer>[0]> = {}): Promise<DigestServer> {
  const server = await startDigestServer({ userName: USER, password: PASSWORD, ...options });
  closers.push(() => server.close());
  return server;
}

function responsePath(): string {
  counter += 1;
  return join(dir.path, `response-${counter}.bin`);
}

function httpInput(
  url: string,
  overrides: Partial<HttpUploadInput> = {},
): { input: HttpUploadInput; sent: number[]; responses: ResponseSnapshot[] } {
  const sent: number[] = [];
  const responses: ResponseSnapshot[] = [];
  const input: HttpUploadInput = {
    url: new URL(url),
    method: 'PUT',
    headers: [['Content-Type', 'application/octet-stream']],
    body: fileBody(inspectSourceFile(file.path)),
    responseBodyPath: responsePath(),
    dispatcher,
    signal: new AbortController().signal,
    responseTimeoutMs: 10_000,
    maxRedirects: 5,
    credentials: CREDENTIALS,
    onBytesSent: (value) => sent.push(value),
    onResponse: (response) => responses.push(response),
    onBytesReceived() {},
    ...overrides,
  } as HttpUploadInput;
  return { input, sent, responses };
}

function resumableInput(endpoint: string, body: RandomFile, session: string | null): ResumableUploadInput {
  return {
    endpoint: new URL(endpoint),
    headers: [],
    body: fileBody(inspectSourceFile(body.path)),
    session: session === null ? null : { uploadUrl: session },
    dispatcher,
    signal: new AbortController().signal,
    responseTimeoutMs: 10_000,
    stallTimeoutMs: 5_000,
    responseBodyPath: responsePath(),
    credentials: CREDENTIALS,
    onSession() {},
    onOffset() {},
    onBytesSent() {},
    onResponse() {},
    onBytesReceived() {},
  };
}

/** The sha256 the server reported in its 201 body. */
async function reportedSha(path: string): Promise<string> {
  const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
  assert.ok(typeof parsed === 'object' && parsed !== null && 'sha256' in parsed);
  return String(parsed.sha256);
}

function outcomes(records: AuthRecord[]): string[] {
  return records.map((record) => `${record.scheme ?? 'none'}:${record.outcome}`);
}

/** Every string reachable from an error: message, name, stack, code, and the same for each cause. */
function errorText(error: unknown, depth = 0): string {
  if (typeof error !== 'object' || error === null || depth > 6) return String(error);
  const parts = ['message', 'name', 'stack', 'code'].map((key) => String(Reflect.get(error, key) ?? ''));
  return `${parts.join('\n')}\n${JSON.stringify(error)}\n${errorText(Reflect.get(error, 'cause'), depth + 1)}`;
}

test('RFC 7616 §3.9.1 example: MD5 (with erratum 4495) and SHA-256 responses; challenge lists parse', () => {
  const example = {
    session: false,
    userName: 'Mufasa',
    realm: 'http-auth@example.org',
    password: 'Circle of Life',
    method: 'GET',
    uri: '/dir/index.html',
    nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
    nc: '00000001',
    cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
    qop: 'auth' as const,
  };
  assert.equal(digestResponse({ ...example, hash: 'md5' }), '8ca523f5e9506fed4657c9700eebdbec');
  assert.equal(
    digestResponse({ ...example, hash: 'sha256' }),
    '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
  );
  const challenges = parseChallenges([
    'Basic realm="a, b", Digest realm="x\\"y", qop="auth, auth-int", algorithm=SHA-256, nonce="n1"',
    'Negotiate abc==, Bearer',
  ]);
  assert.deepEqual(
    challenges.map((challenge) => [challenge.scheme, Object.fromEntries(challenge.params), challenge.token68]),
    [
      ['basic', { realm: 'a, b' }, null],
      ['digest', { realm: 'x"y', qop: 'auth, auth-int', algorithm: 'SHA-256', nonce: 'n1' }, null],
      ['negotiate', {}, 'abc=='],
      ['bearer', {}, null],
    ],
  );
});

test('Basic goes preemptively to the origin (one request), also after a same-origin 307, never to another origin', async () => {
  const server = await digestServer();
  const { input } = httpInput(`${server.url}/basic/upload`);
  const result = await uploadHttp(input);
  assert.equal(result.response.statusCode, 201);
  assert.deepEqual(outcomes(server.requests), ['basic:ok'], 'no 401 round trip');
  assert.equal(server.requests[0]?.authorization, BASIC);
  assert.equal(await reportedSha(input.responseBodyPath), file.sha256);

  const first = await startUploadServer();
  const second = await startUploadServer();
  closers.push(
    () => first.close(),
    () => second.close(),
  );
  first.route('/start', () => ({ redirect: '/again' }));
  first.route('/again', () => ({ redirect: `${second.url}/elsewhere` }));
  const redirected = httpInput(`${first.url}/start`, { body: fileBody(inspectSourceFile(small.path)) });
  assert.equal((await uploadHttp(redirected.input)).response.statusCode, 201);
  const authorization = (headers: Array<[string, string]>) =>
    headers.find(([name]) => name.toLowerCase() === 'authorization')?.[1];
  assert.deepEqual(
    first.requests.map((request) => [request.url, authorization(request.headers)]),
    [
      ['/start', BASIC],
      ['/again', BASIC],
    ],
  );
  assert.equal(second.requests.length, 1);
  assert.equal(authorization(second.requests[0]!.headers), undefined, 'no credentials after the cross-origin 307');
  assert.equal(second.requests[0]?.sha256, small.sha256);
});

const ALGORITHMS: Readonly<Record<string, string>> = {
  md5: 'MD5',
  sha256: 'SHA-256',
  'md5-sess': 'MD5-sess',
  'sha256-sess': 'SHA-256-sess',
};

for (const [algorithm, token] of Object.entries(ALGORITHMS)) {
  test(`Digest ${algorithm}: a 401 challenge is answered once and the body arrives byte-exact`, async () => {
    const server = await digestServer();
    const { input, sent } = httpInput(`${server.url}/${algorithm}/upload?x=1`);
    const result = await uploadHttp(input);
    assert.equal(result.response.statusCode, 201);
    assert.deepEqual(outcomes(server.requests), ['basic:missing', 'digest:ok']);
    const digest = server.requests[1]?.digest;
    assert.equal(digest?.algorithm, token);
    assert.equal(digest?.nc, '00000001');
    assert.equal(digest?.qop, 'auth');
    assert.equal(digest?.uri, `/${algorithm}/upload?x=1`);
    assert.equal(digest?.userhash, 'false');
    assert.equal(server.requests[1]?.sha256, file.sha256);
    assert.equal(server.requests[1]?.bodyBytes, file.size);
    assert.equal(await reportedSha(input.responseBodyPath), file.sha256);
    // Progress went back to 0 for the re-send and ended at the whole body.
    assert.equal(sent.at(-1), file.size);
    assert.ok(sent.lastIndexOf(0) > 0, `progress restarted: ${sent.slice(0, 5).join(',')}`);
  });
}

test('Digest after the server read the whole first body; Basic and Digest offered → Digest (first algorithm)', async () => {
  const patient = await digestServer({ challengeBeforeBody: false });
  const { input } = httpInput(`${patient.url}/sha256/upload`);
  assert.equal((await uploadHttp(input)).response.statusCode, 201);
  assert.deepEqual(outcomes(patient.requests), ['basic:missing', 'digest:ok']);
  assert.equal(patient.requests[0]?.bodyBytes, file.size, 'the first body was read before the 401');
  assert.equal(patient.requests[1]?.sha256, file.sha256);

  const both = await digestServer();
  const preferred = httpInput(`${both.url}/prefer/upload`, { body: fileBody(inspectSourceFile(small.path)) });
  assert.equal((await uploadHttp(preferred.input)).response.statusCode, 201);
  assert.deepEqual(outcomes(both.requests), ['basic:missing', 'digest:ok']);
  assert.equal(both.requests[1]?.digest?.algorithm, 'SHA-256');
});

test('a wrong password: the final 401 is returned, not thrown; no error ever carries the password', async () => {
  const server = await digestServer();
  for (const path of ['/sha256/upload', '/basic/upload']) {
    const { input, responses } = httpInput(`${server.url}${path}`, {
      credentials: { userName: USER, password: 'wrong' },
      body: fileBody(inspectSourceFile(small.path)),
    });
    const result = await uploadHttp(input);
    assert.equal(result.response.statusCode, 401);
    assert.deepEqual(
      responses.map((response) => response.statusCode),
      [401],
    );
    assert.ok(result.response.headers.some(([name]) => name.toLowerCase() === 'www-authenticate'));
  }
  assert.deepEqual(outcomes(server.requests), ['basic:missing', 'digest:wrong', 'basic:wrong']);

  // Failures with credentials in play: refused connection, a reset mid-body, a response timeout.
  const failing = await startUploadServer();
  closers.push(() => failing.close());
  failing.route('/reset', () => ({ destroy: 'reset' }), { resetAfterBytes: 1000 });
  failing.route('/hang', () => ({ hang: true }));
  const refusedPort = failing.port + 1 === 65536 ? failing.port - 1 : failing.port + 1;
  const cases = [
    httpInput(`http://127.0.0.1:${refusedPort}/x`),
    httpInput(`${failing.url}/reset`),
    httpInput(`${failing.url}/hang`, { responseTimeoutMs: 200, body: fileBody(inspectSourceFile(small.path)) }),
  ];
  for (const { input } of cases) {
    const error = await uploadHttp(input).then(
      () => assert.fail('expected a rejection'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof TransferError, String(error));
    const text = errorText(error);
    for (const secret of [PASSWORD, BASIC, BASIC.slice(6)]) assert.ok(!text.includes(secret), text);
  }
});

test('the app’s own Authorization wins (R66): nothing is added and its 401 is final', async () => {
  const server = await digestServer();
  const { input } = httpInput(`${server.url}/sha256/upload`, {
    headers: [['Authorization', 'Bearer app-token']],
    body: fileBody(inspectSourceFile(small.path)),
  });
  assert.equal((await uploadHttp(input)).response.statusCode, 401);
  assert.deepEqual(
    server.requests.map((request) => request.authorization),
    ['Bearer app-token'],
  );
});

/** @tus/server behind the auth server's front: authenticated requests reach it, others get 401. */
async function protectedTus(prefix: string, onRequest?: (req: IncomingMessage) => void) {
  const store = await makeTempDir('http-auth-tus-');
  const tus = createTusApp({ path: `/${prefix}/files`, directory: store.path });
  const server = await digestServer({
    next(req: IncomingMessage, res: ServerResponse) {
      onRequest?.(req);
      tus.handle(req, res).catch(() => res.destroy());
    },
  });
  closers.push(() => store.cleanup());
  const sha256 = (uploadUrl: string) => tus.sha256(new URL(uploadUrl).pathname.split('/').at(-1) ?? '');
  return { server, endpoint: `${server.url}/${prefix}/files`, sha256 };
}

test('tus behind Basic: OPTIONS, POST, PATCH, HEAD and DELETE all carry the credentials', async () => {
  const { server, endpoint, sha256 } = await protectedTus('basic');
  const signal = new AbortController().signal;
  assert.equal(await probeTus(new URL(endpoint), dispatcher, signal, [], { credentials: CREDENTIALS }), true);
  assert.equal(await probeTus(new URL(endpoint), dispatcher, signal, []), false, 'without credentials: 401');
  let session = '';
  const first = { ...resumableInput(endpoint, file, null), onSession: (url: string) => (session = url) };
  assert.equal((await uploadTus({ ...first, metadata: {}, chunkSizeBytes: 2 * MiB })).response.statusCode, 204);
  assert.equal(await sha256(session), file.sha256);
  // A later attempt of the finished upload: HEAD reports it complete.
  const again = await uploadTus({ ...resumableInput(endpoint, file, session), metadata: {} });
  assert.equal(again.response.statusCode, 200);
  await terminateTus(session, dispatcher, [], signal, { credentials: CREDENTIALS });
  assert.deepEqual(
    server.requests.map((request) => `${request.method}:${request.scheme ?? 'none'}:${request.outcome}`),
    [
      'OPTIONS:basic:ok',
      'OPTIONS:none:missing',
      'POST:basic:ok',
      'PATCH:basic:ok',
      'PATCH:basic:ok',
      'HEAD:basic:ok',
      'DELETE:basic:ok',
    ],
  );
  assert.ok(server.requests.every((request) => request.scheme === null || request.authorization === BASIC));
});

test('tus behind Digest: one challenge serves POST and PATCH (nc counts); a stale nonce is re-authenticated once', async () => {
  let expire = (): void => {};
  const { server, endpoint, sha256 } = await protectedTus('sha256', (req) => {
    // The creation's nonce turns stale: the PATCH that reuses it must re-authenticate.
    if (req.method === 'POST') expire();
  });
  expire = () => server.expireNonces();
  let session = '';
  const sent: number[] = [];
  const input = {
    ...resumableInput(endpoint, file, null),
    onSession: (url: string) => (session = url),
    onBytesSent: (value: number) => sent.push(value),
  };
  const result = await uploadTus({ ...input, metadata: { filename: 'f.bin' }, chunkSizeBytes: 2 * MiB });
  assert.equal(result.response.statusCode, 204);
  assert.equal(await sha256(session), file.sha256);
  assert.deepEqual(
    server.requests.map((request) => `${request.method}:${request.scheme ?? 'none'}:${request.outcome}`),
    ['POST:basic:missing', 'POST:digest:ok', 'PATCH:digest:stale', 'PATCH:digest:ok', 'PATCH:digest:ok'],
  );
  const digests = server.requests.map((request) => request.digest);
  assert.equal(digests[1]?.nc, '00000001');
  assert.equal(digests[2]?.nc, '00000002', 'the PATCH reused the POST challenge');
  assert.equal(digests[2]?.nonce, digests[1]?.nonce);
  assert.notEqual(digests[3]?.nonce, digests[2]?.nonce, 'the re-sent PATCH uses the new nonce');
  assert.deepEqual([digests[3]?.nc, digests[4]?.nc], ['00000001', '00000002']);
  assert.equal(sent.at(-1), file.size);

  // A second stale answer in a row is final: the 401 is returned.
  const alwaysStale = await digestServer({ nonceUses: 0 });
  const { input: staleInput } = httpInput(`${alwaysStale.url}/md5/upload`, {
    body: fileBody(inspectSourceFile(small.path)),
  });
  assert.equal((await uploadHttp(staleInput)).response.statusCode, 401);
  assert.deepEqual(outcomes(alwaysStale.requests), ['basic:missing', 'digest:stale', 'digest:stale']);
});

test('IETF draft: the creation, the HEAD of a later attempt and DELETE carry the credentials', async () => {
  const draft = await startIetfServer();
  closers.push(() => draft.close());
  let session = '';
  const create = { ...resumableInput(`${draft.url}/target`, small, null), onSession: (url: string) => (session = url) };
  assert.equal((await uploadIetf({ ...create, method: 'POST', maxRedirects: 5 })).response.statusCode < 300, true);
  const again = await uploadIetf({
    ...resumableInput(`${draft.url}/target`, small, session),
    method: 'POST',
    maxRedirects: 5,
  });
  assert.ok(again.response.statusCode < 300);
  await terminateIetf(session, dispatcher, [], new AbortController().signal, { credentials: CREDENTIALS });
  const authorization = (headers: Array<[string, string]>) =>
    headers.find(([name]) => name.toLowerCase() === 'authorization')?.[1];
  assert.deepEqual(
    draft.requests.map((request) => [request.method, authorization(request.headers)]),
    [
      ['POST', BASIC],
      ['HEAD', BASIC],
      ['DELETE', BASIC],
    ],
  );
});
