import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Dispatcher } from 'undici';
import { TransferError } from '../../src/core/errors.ts';
import { createDispatcher, type DispatcherOptions } from '../../src/net/dispatcher.ts';
import { type ProxySetting, proxyRouter } from '../../src/net/proxy-config.ts';
import { uploadHttp } from '../../src/protocols/http/http-upload.ts';
import type { HttpUploadInput, HttpUploadResult } from '../../src/protocols/http/http-upload-types.ts';
import { uploadTus } from '../../src/protocols/tus/tus-upload.ts';
import { fileBody } from '../../src/source/body-source.ts';
import { inspectSourceFile } from '../../src/source/file-source.ts';
import { type HttpProxy, startHttpProxy } from '../helpers/http-proxy.ts';
import { listenOnLoopback } from '../helpers/loopback.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { makeTestCertificates, type TestCertificates } from '../helpers/tls-certs.ts';
import { startTusServer } from '../helpers/tus-server.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

const MiB = 1024 * 1024;
const PROXY_USER = { userName: 'proxy user', password: 'pr0xy-s3cret:ü' };

let dir: TempDir;
let file: RandomFile;
let certs: TestCertificates;
let plain: UploadServer;
let secure: UploadServer;
const closers: Array<() => Promise<void>> = [];
let counter = 0;

before(async () => {
  dir = await makeTempDir('http-proxy-test-');
  file = await writeRandomFile(dir.path, 'file.bin', 2 * MiB + 777);
  certs = await makeTestCertificates();
  plain = await startUploadServer();
  secure = await startUploadServer({ tls: certs.valid });
});

after(async () => {
  await Promise.all(closers.map((close) => close()));
  await Promise.all([plain.close(), secure.close()]);
  await dir.cleanup();
});

function dispatcherWith(options: Partial<DispatcherOptions>): Dispatcher {
  const dispatcher = createDispatcher({ connectTimeoutMs: 5_000, extraCaCertificates: [certs.caCert], ...options });
  closers.push(() => dispatcher.close());
  return dispatcher;
}

async function proxy(options: Parameters<typeof startHttpProxy>[0] = {}): Promise<HttpProxy> {
  const started = await startHttpProxy(options);
  closers.push(() => started.close());
  return started;
}

function upload(
  url: string,
  dispatcher: Dispatcher,
  overrides: Partial<HttpUploadInput> = {},
): Promise<HttpUploadResult> {
  counter += 1;
  return uploadHttp({
    url: new URL(url),
    method: 'PUT',
    headers: [['X-App', 'yes']],
    body: fileBody(inspectSourceFile(file.path)),
    responseBodyPath: join(dir.path, `response-${counter}.bin`),
    dispatcher,
    signal: new AbortController().signal,
    responseTimeoutMs: 10_000,
    maxRedirects: 5,
    onBytesSent() {},
    onResponse() {},
    onBytesReceived() {},
    ...overrides,
  } as HttpUploadInput);
}

/** The upload server's 201 body: `{ sha256, bytes }` of what it received. */
async function received(result: HttpUploadResult, path: string): Promise<{ sha256: string; bytes: number }> {
  assert.equal(result.response.statusCode, 201);
  const parsed = JSON.parse(await readFile(path, 'utf8')) as { sha256: string; bytes: number };
  return parsed;
}

function lastResponsePath(): string {
  return join(dir.path, `response-${counter}.bin`);
}

test('an explicit proxy: http goes in absolute-form, https through CONNECT with the test CA; bodies byte-exact', async () => {
  const forward = await proxy();
  const dispatcher = dispatcherWith({ proxy: { mode: 'url', url: forward.url } });

  const viaHttp = await upload(`${plain.url}/one?q=1`, dispatcher);
  assert.deepEqual(await received(viaHttp, lastResponsePath()), { sha256: file.sha256, bytes: file.size });
  const seen = forward.requests[0]!;
  assert.equal(seen.kind, 'forward');
  assert.equal(seen.method, 'PUT');
  assert.equal(seen.target, `${plain.url}/one?q=1`, 'absolute-form request-target');
  assert.equal(seen.bytesUp, file.size);
  assert.equal(seen.headers.find(([name]) => name.toLowerCase() === 'host')?.[1], new URL(plain.url).host);
  assert.equal(seen.authPresent, false);
  assert.equal(plain.requests.at(-1)?.url, '/one?q=1');

  const viaTunnel = await upload(`${secure.url}/two`, dispatcher);
  assert.deepEqual(await received(viaTunnel, lastResponsePath()), { sha256: file.sha256, bytes: file.size });
  const tunnel = forward.requests[1]!;
  assert.equal(tunnel.kind, 'connect');
  assert.equal(tunnel.target, `127.0.0.1:${secure.port}`);
  assert.equal(tunnel.status, 200);
  assert.ok(tunnel.bytesUp > file.size, `TLS records carry the body: ${tunnel.bytesUp}`);
  assert.equal(forward.requests.length, 2);

  // Connections are reused: a second request per origin opens no new tunnel.
  await upload(`${secure.url}/three`, dispatcher);
  assert.equal(forward.requests.filter((request) => request.kind === 'connect').length, 1);
});

test('a proxy that wants credentials: without them 407 is the final response (http and https), with them it works', async () => {
  const guarded = await proxy({ credential: PROXY_USER });
  const anonymous = dispatcherWith({ proxy: { mode: 'url', url: guarded.url } });
  for (const target of [`${plain.url}/p`, `${secure.url}/p`]) {
    const result = await upload(target, anonymous);
    assert.equal(result.response.statusCode, 407, target);
    assert.equal(result.response.actualUri, target);
    const challenge = result.response.headers.find(([name]) => name.toLowerCase() === 'proxy-authenticate');
    assert.equal(challenge?.[1], 'Basic realm="test proxy"');
  }
  assert.deepEqual(
    guarded.requests.map((request) => [request.kind, request.status, request.authPresent]),
    [
      ['forward', 407, false],
      ['connect', 407, false],
    ],
  );

  const withCredential = dispatcherWith({ proxy: { mode: 'url', url: guarded.url }, proxyCredential: PROXY_USER });
  const user = encodeURIComponent(PROXY_USER.userName);
  const password = encodeURIComponent(PROXY_USER.password);
  const inUrl = dispatcherWith({ proxy: { mode: 'url', url: `http://${user}:${password}@127.0.0.1:${guarded.port}` } });
  for (const dispatcher of [withCredential, inUrl]) {
    for (const target of [`${plain.url}/ok`, `${secure.url}/ok`]) {
      const result = await upload(target, dispatcher);
      assert.deepEqual(await received(result, lastResponsePath()), { sha256: file.sha256, bytes: file.size });
    }
  }
  assert.deepEqual(
    guarded.requests.slice(2).map((request) => [request.kind, request.status, request.authorized]),
    [
      ['forward', 201, true],
      ['connect', 200, true],
      ['forward', 201, true],
      ['connect', 200, true],
    ],
  );
  // The origin never sees the proxy's credentials.
  assert.ok(!plain.requests.some((request) => request.headers.some(([name]) => /^proxy-/i.test(name))));
});

test('an https proxy: TLS to the proxy is verified with the extra CAs too', async () => {
  const tlsProxy = await proxy({ tls: certs.valid, credential: PROXY_USER });
  const dispatcher = dispatcherWith({ proxy: { mode: 'url', url: tlsProxy.url }, proxyCredential: PROXY_USER });
  for (const target of [`${plain.url}/s`, `${secure.url}/s`]) {
    const result = await upload(target, dispatcher);
    assert.deepEqual(await received(result, lastResponsePath()), { sha256: file.sha256, bytes: file.size });
  }
  assert.deepEqual(
    tlsProxy.requests.map((request) => request.kind),
    ['forward', 'connect'],
  );
  const untrusting = createDispatcher({
    connectTimeoutMs: 5_000,
    extraCaCertificates: [],
    proxy: { mode: 'url', url: tlsProxy.url },
  });
  closers.push(() => untrusting.close());
  const error = await upload(`${plain.url}/s`, untrusting).then(
    () => assert.fail('expected a rejection'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof TransferError);
  assert.equal(error.code, 'BT_ERR_CERT_UNTRUSTED');
});

test('env mode: HTTP_PROXY / HTTPS_PROXY from the given environment; NO_PROXY sends a target direct', async () => {
  const envProxy = await proxy();
  const env = { HTTP_PROXY: envProxy.url, https_proxy: envProxy.url };
  const proxied = dispatcherWith({ proxy: { mode: 'env', env } });
  await upload(`${plain.url}/e1`, proxied);
  await upload(`${secure.url}/e2`, proxied);
  assert.deepEqual(
    envProxy.requests.map((request) => request.kind),
    ['forward', 'connect'],
  );

  const bypass = dispatcherWith({
    proxy: { mode: 'env', env: { ...env, NO_PROXY: `example.com, 127.0.0.1:${plain.port}, 127.0.0.1:${secure.port}` } },
  });
  const direct = await upload(`${plain.url}/e3`, bypass);
  assert.deepEqual(await received(direct, lastResponsePath()), { sha256: file.sha256, bytes: file.size });
  await upload(`${secure.url}/e4`, bypass);
  assert.equal(envProxy.requests.length, 2, 'NO_PROXY targets went direct');
  assert.equal(plain.requests.at(-1)?.url, '/e3');
  assert.equal(secure.requests.at(-1)?.url, '/e4');

  const otherPort = dispatcherWith({ proxy: { mode: 'env', env: { ...env, no_proxy: '127.0.0.1:1' } } });
  await upload(`${plain.url}/e5`, otherPort);
  assert.equal(envProxy.requests.length, 3, 'a NO_PROXY entry for another port does not apply');

  // process.env is the default source; this test leaves it as it was.
  const saved = { HTTP_PROXY: process.env.HTTP_PROXY, http_proxy: process.env.http_proxy };
  try {
    process.env.HTTP_PROXY = envProxy.url;
    delete process.env.http_proxy;
    const fromProcess = dispatcherWith({ proxy: { mode: 'env' } });
    await upload(`${plain.url}/e6`, fromProcess);
    assert.equal(envProxy.requests.at(-1)?.target, `${plain.url}/e6`);
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
});

test('proxy routing rules: NO_PROXY ports, suffixes, *, IPv6, CIDR; HTTPS falls back to HTTP_PROXY', () => {
  const route = (setting: ProxySetting, url: string): string | null => {
    const target = new URL(url);
    return proxyRouter(setting, null)?.select(target)?.label ?? null;
  };
  const P = 'http://proxy.test:3128';
  const env = (extra: Record<string, string>): ProxySetting => ({ mode: 'env', env: { HTTP_PROXY: P, ...extra } });
  const noProxy = 'Example.COM, .corp.test, *.wild.test, localhost:8080, [::1], fe80::1, 10.0.0.0/8, [fd00::]/8';
  const cases: Array<[string, string | null]> = [
    ['http://example.com/', null],
    ['http://a.b.example.com/', null],
    ['http://notexample.com/', P],
    ['http://corp.test/', null],
    ['http://x.corp.test/', null],
    ['http://x.wild.test/', null],
    ['http://localhost:8080/', null],
    ['http://localhost:8081/', P],
    ['http://127.0.0.1/', P],
    ['http://[::1]:9/', null],
    ['http://[fe80::1]/', null],
    ['http://10.20.30.40/', null],
    ['http://11.0.0.1/', P],
    ['http://[fd00::5]/', null],
    ['https://secure.test/', P],
  ];
  for (const [url, expected] of cases) assert.equal(route(env({ NO_PROXY: noProxy }), url), expected, url);
  assert.equal(route(env({ NO_PROXY: '*' }), 'http://any.test/'), null);
  assert.equal(route(env({ no_proxy: 'a.test, *' }), 'http://any.test/'), null);
  assert.equal(route({ mode: 'env', env: { https_proxy: 'https://s.test' } }, 'http://plain.test/'), null);
  assert.equal(route({ mode: 'env', env: { https_proxy: 'https://s.test' } }, 'https://x.test/'), 'https://s.test');
  assert.equal(
    route({ mode: 'env', env: { http_proxy: 'low.test:1', HTTP_PROXY: 'up.test:2' } }, 'http://x/'),
    'http://low.test:1',
  );
  assert.equal(proxyRouter({ mode: 'env', env: {} }, null), null, 'no proxy variables: direct');
  assert.equal(proxyRouter({ mode: 'none' }, null), null);
  assert.equal(route({ mode: 'url', url: P }, 'http://localhost/'), P, 'an explicit proxy takes loopback too');
  for (const bad of ['socks5://user:hunter2@proxy.test:1080', 'http://user:hunter2@', 'ftp://user:hunter2@x']) {
    assert.throws(
      () => proxyRouter({ mode: 'url', url: bad }, null),
      (error: unknown) =>
        error instanceof TransferError &&
        error.code === 'BT_ERR_INVALID_ARGUMENT' &&
        !errorText(error).includes('hunter2'),
    );
  }
});

test('connect timeout (R47) covers the CONNECT through a proxy that never answers', async () => {
  const sockets = new Set<Socket>();
  const silent: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  const { port } = await listenOnLoopback(silent);
  closers.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });
  const dispatcher = dispatcherWith({
    connectTimeoutMs: 300,
    proxy: { mode: 'url', url: `http://u:p4ss@127.0.0.1:${port}` },
  });
  const started = performance.now();
  const error = await upload(`${secure.url}/never`, dispatcher).then(
    () => assert.fail('expected a rejection'),
    (caught: unknown) => caught,
  );
  const elapsed = performance.now() - started;
  assert.ok(error instanceof TransferError);
  assert.equal(error.code, 'BT_ERR_TIMEOUT');
  assert.ok(elapsed >= 280 && elapsed < 3_000, `${elapsed} ms`);
  assert.ok(!errorText(error).includes('p4ss'), errorText(error));

  const refused = dispatcherWith({ proxy: { mode: 'url', url: `http://u:p4ss@127.0.0.1:${port + 1}` } });
  const refusal = await upload(`${secure.url}/refused`, refused).then(
    () => assert.fail('expected a rejection'),
    (caught: unknown) => caught,
  );
  assert.ok(refusal instanceof TransferError);
  assert.equal(refusal.code, 'BT_ERR_CANNOT_CONNECT');
  assert.ok(!errorText(refusal).includes('p4ss'));
});

test('tus through the proxy: creation and PATCH go in absolute-form', async () => {
  const tus = await startTusServer();
  closers.push(() => tus.close());
  const forward = await proxy();
  const dispatcher = dispatcherWith({ proxy: { mode: 'url', url: forward.url } });
  let session = '';
  counter += 1;
  const result = await uploadTus({
    endpoint: new URL(tus.endpoint),
    headers: [],
    body: fileBody(inspectSourceFile(file.path)),
    session: null,
    dispatcher,
    signal: new AbortController().signal,
    responseTimeoutMs: 10_000,
    stallTimeoutMs: 5_000,
    responseBodyPath: join(dir.path, `response-${counter}.bin`),
    metadata: {},
    onSession: (url) => (session = url),
    onOffset() {},
    onBytesSent() {},
    onResponse() {},
    onBytesReceived() {},
  });
  assert.equal(result.response.statusCode, 204);
  assert.equal(await tus.sha256(tus.uploadId(session)), file.sha256);
  assert.deepEqual(
    forward.requests.map((request) => [request.method, request.target]),
    [
      ['POST', tus.endpoint],
      ['PATCH', session],
    ],
  );
});

function errorText(error: unknown, depth = 0): string {
  if (typeof error !== 'object' || error === null || depth > 6) return String(error);
  const parts = ['message', 'name', 'stack', 'code'].map((key) => String(Reflect.get(error, key) ?? ''));
  return `${parts.join('\n')}\n${JSON.stringify(error)}\n${errorText(Reflect.get(error, 'cause'), depth + 1)}`;
}
