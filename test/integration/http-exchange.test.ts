import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Dispatcher } from 'undici';
import { WebErrorStatus } from '../../src/core/enums.ts';
import { TransferError } from '../../src/core/errors.ts';
import { createDispatcher } from '../../src/net/dispatcher.ts';
import { type ExchangeInput, exchange, MEMORY_SINK_LIMIT_BYTES } from '../../src/protocols/http/exchange.ts';
import { JOIN_AFTER_BYTES, MAX_PIECE_BYTES } from '../../src/protocols/http/exchange-request-body.ts';
import type { HeaderPairs } from '../../src/protocols/http/header-pairs.ts';
import { fileBody } from '../../src/source/body-source.ts';
import { inspectSourceFile } from '../../src/source/file-source.ts';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.ts';
import { type IetfTestServer, startIetfServer } from '../helpers/ietf-server.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

const MiB = 1024 * 1024;

let dir: TempDir;
let file: RandomFile;
let dispatcher: Dispatcher;
let target: UploadServer;
let draft: IetfTestServer;
const proxies: FaultProxy[] = [];

before(async () => {
  dir = await makeTempDir('http-exchange-test-');
  file = await writeRandomFile(dir.path, 'body.bin', 16 * MiB + 777);
  dispatcher = createDispatcher({ connectTimeoutMs: 5_000, extraCaCertificates: [] });
  target = await startUploadServer();
  draft = await startIetfServer();
});

after(async () => {
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await Promise.all([target.close(), draft.close()]);
  await dispatcher.close();
  await dir.cleanup();
});

async function proxyTo(port: number, plan = {}): Promise<FaultProxy> {
  const proxy = await startFaultProxy(port, { defaultPlan: plan });
  proxies.push(proxy);
  return proxy;
}

function input(url: string, overrides: Partial<ExchangeInput> = {}): ExchangeInput {
  return {
    url: new URL(url),
    method: 'PUT',
    headers: [],
    body: { source: fileBody(inspectSourceFile(file.path)), start: 0 },
    dispatcher,
    signal: new AbortController().signal,
    responseTimeoutMs: 10_000,
    stallTimeoutMs: 0,
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<TransferError> {
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof TransferError, `expected a TransferError, got ${String(error)}`);
  return error;
}

test('a connection that stops accepting body bytes fails with BT_ERR_STALLED after stallTimeoutMs', async () => {
  const stallTimeoutMs = 500;
  const proxy = await proxyTo(target.port, { stallAfterUpstreamBytes: 2 * MiB });
  const sent: number[] = [];
  const started = performance.now();
  const error = await rejection(
    exchange(input(`${proxy.url}/stall`, { stallTimeoutMs, onBytesSent: (value) => sent.push(value) })),
  );
  const rejectedAt = performance.now();
  assert.equal(error.code, 'BT_ERR_STALLED', error.message);
  assert.equal(error.retryable, true);
  assert.equal(error.webErrorStatus, WebErrorStatus.timeout);
  const stalledAt = proxy.connections[0]?.faultAt;
  assert.ok(stalledAt !== null && stalledAt !== undefined);
  const detectionMs = rejectedAt - stalledAt;
  console.log(
    `stall detection: ${detectionMs.toFixed(0)} ms after the proxy stalled (stallTimeoutMs ${stallTimeoutMs}); ` +
      `${sent.at(-1)} of ${file.size} bytes handed over; total ${(rejectedAt - started).toFixed(0)} ms`,
  );
  // Never before stallTimeoutMs of silence: the silence is counted from the last piece the connection
  // accepted, which the message states. (The proxy's faultAt cannot serve as the start: on a loaded
  // machine its handler can run after the client's last piece was already accepted.)
  const silentMs = Number(/accepted no more of the body for (\d+) ms/.exec(error.message)?.[1]);
  assert.ok(silentMs >= stallTimeoutMs - 2, `silent for ${silentMs} ms: ${error.message}`);
  // And soon after: the client keeps writing into socket buffers for a moment after the proxy stops
  // reading, then the timer runs.
  assert.ok(detectionMs < stallTimeoutMs + 1_000, `detected after ${detectionMs} ms`);
  assert.ok((sent.at(-1) ?? 0) < file.size);
  // The stalled proxy does not read, so it cannot see the client leave; closing it ends the request.
  const request = await target.waitForRequest((candidate) => candidate.url === '/stall');
  await proxy.close();
  await target.waitForRequest((candidate) => candidate === request && candidate.aborted);
  assert.equal(request.complete, false);
});

test('a slow upload that keeps moving is not a stall', async () => {
  const proxy = await proxyTo(target.port, { throttleBytesPerSecond: 8 * MiB });
  const size = 3 * MiB;
  const response = await exchange(
    input(`${proxy.url}/slow-but-moving`, {
      stallTimeoutMs: 300,
      body: { source: fileBody(inspectSourceFile(file.path)), start: 0, end: size },
    }),
  );
  assert.equal(response.status, 201);
  assert.equal(JSON.parse(response.body.toString('utf8')).bytes, size);
});

/** The sizes of the pieces undici wrote for requests to `path` while `run` ran (its diagnostics channel). */
async function piecesWritten(path: string, run: () => Promise<void>): Promise<number[]> {
  const sizes: number[] = [];
  const listener = (message: unknown): void => {
    const { request, chunk } = message as { request: { path: string }; chunk: Uint8Array };
    if (request.path === path) sizes.push(chunk.byteLength);
  };
  subscribe('undici:request:bodyChunkSent', listener);
  try {
    await run();
  } finally {
    unsubscribe('undici:request:bodyChunkSent', listener);
  }
  return sizes;
}

test('a fast link gets pieces of MAX_PIECE_BYTES once JOIN_AFTER_BYTES went out, byte-exact', async () => {
  const big = await writeRandomFile(dir.path, 'big.bin', JOIN_AFTER_BYTES + 24 * MiB + 777);
  let response: Awaited<ReturnType<typeof exchange>> | undefined;
  const sizes = await piecesWritten('/joined', async () => {
    response = await exchange(
      input(`${target.url}/joined`, {
        stallTimeoutMs: 60_000,
        body: { source: fileBody(inspectSourceFile(big.path)), start: 0 },
      }),
    );
  });
  assert.equal(response?.status, 201);
  assert.deepEqual(JSON.parse(response?.body.toString('utf8') ?? '{}'), { sha256: big.sha256, bytes: big.size });
  assert.equal(
    sizes.reduce((sum, size) => sum + size, 0),
    big.size,
  );
  assert.ok(Math.max(...sizes) <= MAX_PIECE_BYTES, `no piece over ${MAX_PIECE_BYTES}: ${Math.max(...sizes)}`);
  const joined = sizes.filter((size) => size === MAX_PIECE_BYTES).length;
  // Loopback is fast: nearly every MiB after the first JOIN_AFTER_BYTES goes as one piece.
  assert.ok(joined >= 16, `${joined} pieces of ${MAX_PIECE_BYTES} among ${sizes.length}`);
});

test('1xx responses reach onInformational with their headers (the draft 104)', async () => {
  const interim: Array<{ status: number; headers: HeaderPairs }> = [];
  const response = await exchange(
    input(`${draft.url}/target`, {
      method: 'POST',
      headers: [
        ['Upload-Draft-Interop-Version', '6'],
        ['Upload-Complete', '?1'],
      ],
      onInformational: (status, headers) => interim.push({ status, headers }),
    }),
  );
  assert.equal(interim.length, 1);
  assert.equal(interim[0]?.status, 104);
  const location = interim[0]?.headers.find(([name]) => name === 'Location')?.[1];
  assert.match(location ?? '', /^\/uploads\/[0-9a-f]{24}$/);
  assert.deepEqual(
    interim[0]?.headers.find(([name]) => name === 'Upload-Draft-Interop-Version'),
    ['Upload-Draft-Interop-Version', '6'],
  );
  assert.equal(response.status, 201);
  assert.equal(response.sink, 'memory');
  assert.deepEqual(JSON.parse(response.body.toString('utf8')), { sha256: file.sha256, bytes: file.size });
});

test('a body range [start, end) is sent with Content-Length end - start', async () => {
  const start = 1_000_003;
  const end = 5 * MiB + 17;
  const response = await exchange(
    input(`${target.url}/range`, { body: { source: fileBody(inspectSourceFile(file.path)), start, end } }),
  );
  assert.equal(response.status, 201);
  const content = await readFile(file.path);
  const request = target.requests.find((candidate) => candidate.url === '/range');
  assert.equal(request?.headers.find(([name]) => name === 'content-length')?.[1], String(end - start));
  assert.equal(request?.sha256, createHash('sha256').update(content.subarray(start, end)).digest('hex'));
});

test('sinks: memory keeps the first 64 KiB, file gets everything, discard keeps nothing', async () => {
  const payload = Buffer.alloc(200 * 1024, 7);
  target.route('/big-answer', () => ({ status: 200, body: payload }));
  const small = { source: fileBody(inspectSourceFile(file.path)), start: 0, end: 10 };
  const memory = await exchange(input(`${target.url}/big-answer`, { body: small }));
  assert.equal(memory.body.length, MEMORY_SINK_LIMIT_BYTES);
  assert.equal(memory.bodyTruncated, true);
  assert.equal(memory.bytesReceived, payload.length);

  const path = join(dir.path, 'answer.bin');
  const received: number[] = [];
  const toFile = await exchange(
    input(`${target.url}/big-answer`, {
      body: small,
      chooseSink: () => ({ kind: 'file', path }),
      onBytesReceived: (value) => received.push(value),
    }),
  );
  assert.equal(toFile.sink, 'file');
  assert.ok((await readFile(path)).equals(payload));
  assert.equal(received.at(-1), payload.length);

  const dropped = await exchange(
    input(`${target.url}/big-answer`, { body: small, chooseSink: () => ({ kind: 'discard' }) }),
  );
  assert.equal(dropped.body.length, 0);
  assert.equal(dropped.bytesReceived, payload.length);
});

test('file sink: an empty answer creates no file and removes a stale one from an earlier attempt', async () => {
  target.route('/empty-answer', () => ({ status: 201 }));
  const small = { source: fileBody(inspectSourceFile(file.path)), start: 0, end: 10 };
  const path = join(dir.path, 'empty-answer.bin');
  const first = await exchange(
    input(`${target.url}/empty-answer`, { body: small, chooseSink: () => ({ kind: 'file', path }) }),
  );
  assert.equal(first.status, 201);
  assert.equal(existsSync(path), false, 'no file is created for an empty body');

  await writeFile(path, "an earlier attempt's answer");
  await exchange(input(`${target.url}/empty-answer`, { body: small, chooseSink: () => ({ kind: 'file', path }) }));
  assert.equal(existsSync(path), false, 'the earlier body is not reported as this answer');
});

test('without a body the response timer starts at once (R48): a silent HEAD → BT_ERR_TIMEOUT', async () => {
  target.route('/silent', () => ({ hang: true }), { answerBeforeBody: true });
  const started = performance.now();
  const error = await rejection(
    exchange(input(`${target.url}/silent`, { method: 'HEAD', body: null, responseTimeoutMs: 300 })),
  );
  const elapsed = performance.now() - started;
  assert.equal(error.code, 'BT_ERR_TIMEOUT');
  assert.ok(elapsed >= 280 && elapsed < 3_000, `after ${elapsed} ms`);
});

test('chooseSink throwing fails the exchange with its error and aborts the request', async () => {
  target.route('/refuse', () => ({ status: 200, body: 'x'.repeat(1000) }));
  const refusal = new TransferError('BT_ERR_INVALID_RESPONSE', 'refused by the test');
  const error = await rejection(
    exchange(
      input(`${target.url}/refuse`, {
        body: null,
        method: 'GET',
        chooseSink: () => {
          throw refusal;
        },
      }),
    ),
  );
  assert.equal(error, refusal);
});
