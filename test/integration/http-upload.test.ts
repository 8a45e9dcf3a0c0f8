import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { appendFile, readFile, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Dispatcher } from 'undici';
import { WebErrorStatus } from '../../src/core/enums.ts';
import { type ErrorCode, TransferError } from '../../src/core/errors.ts';
import type { ResponseSnapshot } from '../../src/core/snapshot.ts';
import { createDispatcher } from '../../src/net/dispatcher.ts';
import { uploadHttp } from '../../src/protocols/http/http-upload.ts';
import type { HttpUploadInput } from '../../src/protocols/http/http-upload-types.ts';
import { mapNetworkError } from '../../src/protocols/http/network-errors.ts';
import { fileBody } from '../../src/source/body-source.ts';
import { inspectSourceFile } from '../../src/source/file-source.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { makeTestCertificates, type TestCertificates } from '../helpers/tls-certs.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

const MiB = 1024 * 1024;

let dir: TempDir;
let small: RandomFile;
let certs: TestCertificates;
/** Trusts the system CAs plus the test CA. */
let dispatcher: Dispatcher;
/** Trusts the system CAs only. */
let plainDispatcher: Dispatcher;
const servers: UploadServer[] = [];
let responseCounter = 0;

before(async () => {
  dir = await makeTempDir('http-upload-test-');
  // Not a multiple of the 256 KiB read chunk, so the last chunk is a partial one.
  small = await writeRandomFile(dir.path, 'small.bin', 3 * MiB + 12_345);
  certs = await makeTestCertificates();
  dispatcher = createDispatcher({ connectTimeoutMs: 5_000, extraCaCertificates: [certs.caCert] });
  plainDispatcher = createDispatcher({ connectTimeoutMs: 5_000, extraCaCertificates: [] });
});

after(async () => {
  await Promise.all(servers.map((server) => server.close()));
  await Promise.all([dispatcher.close(), plainDispatcher.close()]);
  await dir.cleanup();
});

async function server(options: Parameters<typeof startUploadServer>[0] = {}): Promise<UploadServer> {
  const started = await startUploadServer(options);
  servers.push(started);
  return started;
}

interface Events {
  sent: number[];
  received: number[];
  responses: Array<{ response: ResponseSnapshot; totalBytesToReceive: number }>;
}

/** An HttpUploadInput with test defaults; the callbacks record into `events`. */
function uploadInput(
  url: string,
  file: RandomFile,
  overrides: Partial<HttpUploadInput> = {},
): { input: HttpUploadInput; events: Events } {
  const events: Events = { sent: [], received: [], responses: [] };
  responseCounter += 1;
  const input: HttpUploadInput = {
    url: new URL(url),
    method: 'PUT',
    headers: [],
    body: fileBody(inspectSourceFile(file.path)),
    responseBodyPath: join(dir.path, `response-${responseCounter}.bin`),
    dispatcher,
    signal: new AbortController().signal,
    responseTimeoutMs: 10_000,
    maxRedirects: 5,
    onBytesSent: (value) => events.sent.push(value),
    onResponse: (response, totalBytesToReceive) => events.responses.push({ response, totalBytesToReceive }),
    onBytesReceived: (value) => events.received.push(value),
    ...overrides,
  };
  return { input, events };
}

/** Awaits a rejection and checks it is a TransferError with `code` (and `webErrorStatus` if given). */
async function rejectsWith(
  promise: Promise<unknown>,
  code: ErrorCode,
  webErrorStatus?: number,
): Promise<TransferError> {
  const error = await promise.then(
    () => assert.fail(`expected ${code}, but the upload succeeded`),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof TransferError, `expected a TransferError, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  if (webErrorStatus !== undefined) assert.equal(error.webErrorStatus, webErrorStatus);
  return error;
}

/** This process's open descriptors for `path` (Linux /proc; elsewhere the check is vacuous). */
function openDescriptorsOf(path: string): string[] {
  if (!existsSync('/proc/self/fd')) return [];
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  });
}

function assertMonotonic(values: number[]): void {
  for (let index = 1; index < values.length; index += 1) {
    assert.ok(values[index]! >= values[index - 1]!, `progress went back: ${values.join(',')}`);
  }
}

for (const method of ['PUT', 'POST']) {
  test(`${method} uploads the file intact and writes the response body to disk`, async () => {
    const target = await server();
    const { input, events } = uploadInput(`${target.url}/files/a.bin?x=1`, small, { method });
    const result = await uploadHttp(input);

    assert.equal(result.response.statusCode, 201);
    assert.equal(result.response.actualUri, `${target.url}/files/a.bin?x=1`);
    assert.equal(result.response.isResumable, false);
    const [request] = target.requests;
    assert.equal(request?.method, method);
    assert.equal(request?.url, '/files/a.bin?x=1');
    assert.equal(request?.sha256, small.sha256);
    assert.equal(request?.headers.find(([name]) => name === 'content-length')?.[1], String(small.size));

    const body = await readFile(input.responseBodyPath, 'utf8');
    assert.deepEqual(JSON.parse(body), { sha256: small.sha256, bytes: small.size });
    assert.equal(result.bytesReceived, Buffer.byteLength(body));
    assert.equal(events.responses.length, 1);
    assert.equal(events.responses[0]?.totalBytesToReceive, Buffer.byteLength(body));
    assert.equal(events.sent.at(-1), small.size);
    assertMonotonic(events.sent);
    assert.equal(events.received.at(-1), result.bytesReceived);
  });
}

test('bodyStart sends the body from that byte on, with Content-Length size - bodyStart', async () => {
  const target = await server();
  const bodyStart = 1_234_567;
  const { input, events } = uploadInput(`${target.url}/tail`, small, { bodyStart });
  const result = await uploadHttp(input);
  assert.equal(result.response.statusCode, 201);
  const tail = (await readFile(small.path)).subarray(bodyStart);
  const request = target.requests[0]!;
  assert.equal(request.headers.find(([name]) => name === 'content-length')?.[1], String(small.size - bodyStart));
  assert.equal(request.sha256, createHash('sha256').update(tail).digest('hex'));
  assert.equal(events.sent.at(-1), small.size - bodyStart, 'bytesSent counts this request body');
});

test('request and response headers keep their case and order (R45); 1xx responses are ignored', async () => {
  const target = await server();
  const sentHeaders: Array<[string, string]> = [
    ['Content-Length', '1'],
    ['X-Custom-Header', 'A'],
  ];
  target.route('/h', () => ({
    status: 200,
    informational: [103, 104],
    headers: [
      ['X-Zebra', 'z'],
      ['x-lower', 'l'],
      ['Set-Cookie', 'a=1'],
      ['X-MiXeD-CaSe', 'm'],
      ['Set-Cookie', 'b=2'],
    ],
    body: 'ok',
  }));
  const { input, events } = uploadInput(`${target.url}/h`, small, { headers: sentHeaders });
  const result = await uploadHttp(input);

  assert.equal(result.response.statusCode, 200);
  const names = result.response.headers.map(([name]) => name);
  assert.deepEqual(
    result.response.headers.filter(([name]) => name.startsWith('X-') || name.startsWith('x-') || name === 'Set-Cookie'),
    [
      ['X-Zebra', 'z'],
      ['x-lower', 'l'],
      ['Set-Cookie', 'a=1'],
      ['X-MiXeD-CaSe', 'm'],
      ['Set-Cookie', 'b=2'],
    ],
  );
  assert.ok(names.includes('Content-Length'));
  assert.equal(events.responses.length, 1, 'onResponse fires for the final response only');
  // The app's header goes out as written; its Content-Length is replaced by the file's size.
  const request = target.requests[0]!;
  assert.ok(request.rawHeaders.includes('X-Custom-Header'));
  assert.equal(request.sha256, small.sha256);
});

for (const status of [404, 500]) {
  test(`${status} is returned as the final response, with its body on disk`, async () => {
    const target = await server();
    target.route('/e', () => ({ status, body: `error body ${status}` }));
    const { input } = uploadInput(`${target.url}/e`, small);
    const result = await uploadHttp(input);
    assert.equal(result.response.statusCode, status);
    assert.equal(await readFile(input.responseBodyPath, 'utf8'), `error body ${status}`);
    assert.equal(result.bytesReceived, `error body ${status}`.length);
  });
}

test('a large response body streams to disk intact (write backpressure pauses the socket)', async () => {
  const target = await server();
  const payload = Buffer.alloc(8 * MiB);
  for (let index = 0; index < payload.length; index += 4) payload.writeUInt32LE(index, index);
  target.route('/download-ish', () => ({ status: 200, body: payload }));
  const { input, events } = uploadInput(`${target.url}/download-ish`, small);
  const result = await uploadHttp(input);
  assert.equal(result.bytesReceived, payload.length);
  assert.equal(events.responses[0]?.totalBytesToReceive, payload.length);
  assert.ok((await readFile(input.responseBodyPath)).equals(payload));
  assert.equal(events.received.at(-1), payload.length);
  assertMonotonic(events.received);
});

for (const status of [307, 308]) {
  test(`${status} re-sends the whole body to the new location (R44 actualUri)`, async () => {
    const target = await server();
    target.route('/start', () => ({ redirect: '/final?q=2', status }));
    const { input, events } = uploadInput(`${target.url}/start`, small);
    const result = await uploadHttp(input);

    assert.equal(result.response.statusCode, 201);
    assert.equal(result.response.actualUri, `${target.url}/final?q=2`);
    assert.deepEqual(
      target.requests.map((request) => [request.url, request.method, request.sha256]),
      [
        ['/start', 'PUT', small.sha256],
        ['/final?q=2', 'PUT', small.sha256],
      ],
    );
    const restart = events.sent.indexOf(0);
    assert.ok(restart > 0, `bytesSent restarts at 0: ${events.sent.join(',')}`);
    assert.equal(events.sent[restart - 1], small.size);
    assert.equal(events.sent.at(-1), small.size);
  });
}

test('an answer before the body was read: a final status is returned, a 307 is followed', async () => {
  const file = await writeRandomFile(dir.path, 'early.bin', 16 * MiB);
  const target = await server({ throttleBytesPerSecond: 64 * MiB });
  target.route('/too-big', () => ({ status: 413, body: 'too big' }), { answerBeforeBody: true });
  target.route('/moved', () => ({ redirect: '/final' }), { answerBeforeBody: true });

  const { input: tooBig } = uploadInput(`${target.url}/too-big`, file, { responseTimeoutMs: 200 });
  const rejected = await uploadHttp(tooBig);
  assert.equal(rejected.response.statusCode, 413);
  assert.equal(await readFile(tooBig.responseBodyPath, 'utf8'), 'too big');

  const { input: moved } = uploadInput(`${target.url}/moved`, file);
  const result = await uploadHttp(moved);
  assert.equal(result.response.actualUri, `${target.url}/final`);
  assert.equal(target.requests.find((request) => request.url === '/final')?.sha256, file.sha256);
  await rm(file.path);
});

for (const status of [301, 302, 303]) {
  test(`${status} fails with BT_ERR_REDIRECT_NOT_ALLOWED and HRESULT 0x80190000 + ${status}`, async () => {
    const target = await server();
    target.route('/r', () => ({ redirect: '/elsewhere', status }));
    const { input } = uploadInput(`${target.url}/r`, small);
    const error = await rejectsWith(uploadHttp(input), 'BT_ERR_REDIRECT_NOT_ALLOWED', status);
    assert.equal(error.number, (0x80190000 + status) | 0);
    assert.equal(error.httpStatus, status);
    assert.equal(target.requests.length, 1, 'the redirect is not followed');
  });
}

test('a redirect loop fails with BT_ERR_TOO_MANY_REDIRECTS after maxRedirects', async () => {
  const target = await server();
  target.route('/loop', () => ({ redirect: '/loop' }));
  const { input } = uploadInput(`${target.url}/loop`, small, { maxRedirects: 3 });
  await rejectsWith(uploadHttp(input), 'BT_ERR_TOO_MANY_REDIRECTS', WebErrorStatus.redirectFailed);
  assert.equal(target.requests.length, 4);
});

test('credentials go to the same origin only: a cross-origin redirect drops Authorization and Cookie', async () => {
  const first = await server();
  const second = await server();
  first.route('/same', () => ({ redirect: '/cross' }));
  first.route('/cross', () => ({ redirect: `${second.url}/final` }));
  const headers: Array<[string, string]> = [
    ['Authorization', 'Bearer secret'],
    ['cookie', 'session=1'],
    ['PROXY-AUTHORIZATION', 'Basic eA=='],
    ['X-Keep', 'yes'],
  ];
  const { input } = uploadInput(`${first.url}/same`, small, { headers });
  const result = await uploadHttp(input);

  assert.equal(result.response.actualUri, `${second.url}/final`);
  const names = (request: { headers: Array<[string, string]> }) => request.headers.map(([name]) => name.toLowerCase());
  for (const request of first.requests) {
    assert.ok(names(request).includes('authorization'), 'same origin keeps Authorization');
    assert.ok(names(request).includes('cookie'), 'same origin keeps Cookie');
  }
  assert.equal(first.requests.length, 2);
  assert.equal(second.requests.length, 1);
  const crossNames = names(second.requests[0]!);
  for (const name of ['authorization', 'cookie', 'proxy-authorization']) assert.ok(!crossNames.includes(name), name);
  assert.ok(crossNames.includes('x-keep'));
  assert.equal(second.requests[0]?.sha256, small.sha256);
});

test('mapNetworkError: coded errors pass through, wrapped causes are unwrapped, the rest is BT_ERR_NETWORK', () => {
  const coded = new TransferError('BT_ERR_SOURCE_CHANGED', 'changed');
  assert.equal(mapNetworkError(coded), coded);
  assert.equal(mapNetworkError(new Error('fetch failed', { cause: coded })), coded);
  const withCode = (message: string, code: string, cause?: unknown) =>
    Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { code });
  const cases: Array<[unknown, ErrorCode]> = [
    [withCode('wrapped', 'UND_ERR_SOCKET', withCode('read ECONNRESET', 'ECONNRESET')), 'BT_ERR_CONNECTION_RESET'],
    [withCode('other side closed', 'UND_ERR_SOCKET'), 'BT_ERR_CONNECTION_ABORTED'],
    [withCode('bad response', 'UND_ERR_SOCKET'), 'BT_ERR_INVALID_RESPONSE'],
    [new AggregateError([withCode('a', 'ECONNREFUSED'), withCode('b', 'ENETUNREACH')]), 'BT_ERR_CANNOT_CONNECT'],
    [withCode('getaddrinfo EAI_AGAIN x', 'EAI_AGAIN'), 'BT_ERR_HOST_NOT_RESOLVED'],
    [withCode('Connect Timeout Error', 'UND_ERR_CONNECT_TIMEOUT'), 'BT_ERR_TIMEOUT'],
    [withCode('Invalid header value char', 'HPE_INVALID_HEADER_TOKEN'), 'BT_ERR_INVALID_RESPONSE'],
    [withCode('certificate has expired', 'CERT_HAS_EXPIRED'), 'BT_ERR_CERT_EXPIRED'],
    [withCode('revoked', 'CERT_REVOKED'), 'BT_ERR_CERT_REVOKED'],
    [withCode('bad signature', 'CERT_SIGNATURE_FAILURE'), 'BT_ERR_CERT_INVALID'],
    [withCode('weird', 'ESOMETHING'), 'BT_ERR_NETWORK'],
    ['not even an error', 'BT_ERR_NETWORK'],
  ];
  for (const [error, code] of cases) {
    const mapped = mapNetworkError(error);
    assert.equal(mapped.code, code, String(error));
    assert.equal(mapped.cause, error);
  }
  assert.match(mapNetworkError(withCode('weird', 'ESOMETHING')).message, /ESOMETHING/);
});

test('connection refused → BT_ERR_CANNOT_CONNECT (webErrorStatus cannotConnect)', async () => {
  const closed = await startUploadServer();
  await closed.close();
  const { input } = uploadInput(`${closed.url}/x`, small);
  const error = await rejectsWith(uploadHttp(input), 'BT_ERR_CANNOT_CONNECT', WebErrorStatus.cannotConnect);
  // Plain words naming the request; Node's ECONNREFUSED stays in the cause.
  assert.equal(error.message, `PUT ${closed.url}/x: the server refused the connection (nothing listens on that port)`);
  assert.match(String((error.cause as { code?: string } | undefined)?.code ?? ''), /ECONNREFUSED|UND_ERR/);
});

test('HTTPS with a certificate from the extra CA uploads intact', async () => {
  const target = await server({ tls: certs.valid });
  const { input } = uploadInput(`${target.url}/tls`, small);
  const result = await uploadHttp(input);
  assert.equal(result.response.statusCode, 201);
  assert.equal(target.requests[0]?.sha256, small.sha256);
});

const certificateCases = [
  { name: 'an expired certificate', pair: 'expired', code: 'BT_ERR_CERT_EXPIRED', status: 2, trustCa: true },
  {
    name: 'a certificate for another name',
    pair: 'wrongName',
    code: 'BT_ERR_CERT_NAME_MISMATCH',
    status: 1,
    trustCa: true,
  },
  { name: 'a self-signed certificate', pair: 'selfSigned', code: 'BT_ERR_CERT_UNTRUSTED', status: 5, trustCa: true },
  {
    name: 'a certificate from a CA not given',
    pair: 'valid',
    code: 'BT_ERR_CERT_UNTRUSTED',
    status: 5,
    trustCa: false,
  },
] as const;

for (const { name, pair, code, status, trustCa } of certificateCases) {
  test(`HTTPS with ${name} → ${code}`, async () => {
    const target = await server({ tls: certs[pair] });
    const { input } = uploadInput(`${target.url}/tls`, small, { dispatcher: trustCa ? dispatcher : plainDispatcher });
    await rejectsWith(uploadHttp(input), code, status);
    assert.equal(target.requests.length, 0, 'no request reaches the server');
  });
}

test('an https → http redirect fails with BT_ERR_INSECURE_REDIRECT', async () => {
  const plain = await server();
  const secure = await server({ tls: certs.valid });
  secure.route('/down', () => ({ redirect: `${plain.url}/final` }));
  const { input } = uploadInput(`${secure.url}/down`, small);
  await rejectsWith(uploadHttp(input), 'BT_ERR_INSECURE_REDIRECT', WebErrorStatus.httpsToHttpOnRedirection);
  assert.equal(plain.requests.length, 0);
});

test('no response within responseTimeoutMs after the body was sent → BT_ERR_TIMEOUT (R48)', async () => {
  const target = await server();
  target.route('/slow', () => ({ hang: true }));
  const { input, events } = uploadInput(`${target.url}/slow`, small, { responseTimeoutMs: 300 });
  const started = performance.now();
  await rejectsWith(uploadHttp(input), 'BT_ERR_TIMEOUT', WebErrorStatus.timeout);
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 280 && elapsed < 5_000, `timed out after ${elapsed} ms`);
  assert.equal(target.requests[0]?.complete, true, 'the server got the whole body first');
  assert.equal(events.sent.at(-1), small.size);
});

test('aborting the signal mid-upload rejects with the given reason', async () => {
  const target = await server({ throttleBytesPerSecond: 4 * MiB });
  const controller = new AbortController();
  const { input } = uploadInput(`${target.url}/abort`, small, { signal: controller.signal });
  const reason = new TransferError('BT_ERR_CANCELED', 'canceled by the test');
  const rejected = assert.rejects(uploadHttp(input), (error: unknown) => error === reason);
  const request = await target.waitForRequest((candidate) => candidate.bodyBytes >= 256 * 1024);
  controller.abort(reason);
  await rejected;
  assert.deepEqual(openDescriptorsOf(small.path), [], 'the source file handle is closed when the promise settles');
  await target.waitForRequest((candidate) => candidate.aborted);
  assert.equal(request.complete, false);

  const { input: late } = uploadInput(`${target.url}/abort`, small, { signal: controller.signal });
  await assert.rejects(uploadHttp(late), (error: unknown) => error === reason, 'an aborted signal fails at once');
  assert.equal(target.requests.length, 1);
});

for (const change of ['grows', 'shrinks'] as const) {
  test(`a source file that ${change} during the upload → BT_ERR_SOURCE_CHANGED, never a complete body`, async () => {
    // Larger than the loopback socket buffers, so the client is still reading the file when it changes.
    const file = await writeRandomFile(dir.path, `changing-${change}.bin`, 24 * MiB);
    const target = await server({ throttleBytesPerSecond: 32 * MiB });
    const { input } = uploadInput(`${target.url}/change`, file);
    // The handler is attached at once: the rejection can come while the file is still being changed.
    const rejected = rejectsWith(uploadHttp(input), 'BT_ERR_SOURCE_CHANGED');
    await target.waitForRequest((candidate) => candidate.bodyBytes >= MiB);
    if (change === 'grows') await appendFile(file.path, 'more');
    else await truncate(file.path, 2 * MiB);

    await rejected;
    assert.deepEqual(openDescriptorsOf(file.path), []);
    const request = await target.waitForRequest((candidate) => candidate.aborted || candidate.complete);
    assert.equal(request.complete, false);
    assert.ok(request.bodyBytes < file.size);
    await rm(file.path);
  });
}

test('the server resetting the connection mid-body → BT_ERR_CONNECTION_RESET or _ABORTED', async () => {
  const file = await writeRandomFile(dir.path, 'reset.bin', 16 * MiB);
  const target = await server();
  target.route('/reset', () => ({ status: 200 }), { resetAfterBytes: MiB });
  const { input } = uploadInput(`${target.url}/reset`, file);
  const error = await uploadHttp(input).then(
    () => assert.fail('expected a connection error'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof TransferError);
  assert.ok(['BT_ERR_CONNECTION_RESET', 'BT_ERR_CONNECTION_ABORTED'].includes(error.code), error.message);
  assert.equal(error.retryable, true);
  assert.deepEqual(openDescriptorsOf(file.path), []);
  await rm(file.path);
});

test('memory stays flat: a 512 MiB upload grows RSS by less than 100 MB', async () => {
  const file = await writeRandomFile(dir.path, 'big.bin', 512 * MiB);
  try {
    const target = await server();
    const baseline = process.memoryUsage.rss();
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 50);
    try {
      const { input, events } = uploadInput(`${target.url}/big`, file);
      const result = await uploadHttp(input);
      assert.equal(result.response.statusCode, 201);
      assert.equal(events.sent.at(-1), file.size);
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage.rss());
    assert.equal(target.requests[0]?.sha256, file.sha256);
    const growthMb = (peak - baseline) / 1e6;
    assert.ok(growthMb < 100, `RSS grew by ${growthMb.toFixed(1)} MB`);
  } finally {
    await rm(file.path, { force: true });
  }
});
