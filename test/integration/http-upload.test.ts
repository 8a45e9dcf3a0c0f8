import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFile, readFile, rm, stat, truncate } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { WebErrorStatus } from '../../src/core/enums.ts';
import { TransferError } from '../../src/core/errors.ts';
import { RESPONSE_BODY_LIMIT_BYTES } from '../../src/protocols/http/exchange-types.ts';
import { uploadHttp } from '../../src/protocols/http/http-upload.ts';
import {
  assertMonotonic,
  dir,
  MiB,
  openDescriptorsOf,
  rejectsWith,
  server,
  small,
  uploadInput,
  useHttpUploadBed,
} from '../helpers/http-upload-kit.ts';
import { writeRandomFile } from '../helpers/temp-dir.ts';

/**
 * uploadHttp against a node:http upload server on loopback: the body and the response (both byte-exact,
 * headers as sent), timeouts, abort, a source file that changes, a reset mid-body, flat memory.
 * Redirects: http-upload-redirects.test.ts; connecting, TLS and error mapping: http-upload-connect.test.ts.
 */

useHttpUploadBed();

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

/**
 * A node:http server whose answers never end: `status` and an endless body (with a Location for a
 * redirect); a request to `/done` is answered 201. Counts the endless answers closed by the client.
 */
async function endlessServer(
  status: number,
): Promise<{ url: string; closed: () => number; close: () => Promise<void> }> {
  let closed = 0;
  const endless = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      if (request.url === '/done') {
        response.writeHead(201, { 'Content-Length': '0' }).end();
        return;
      }
      response.writeHead(status, status === 307 ? { Location: '/done' } : {});
      const piece = Buffer.alloc(MiB, 7);
      const pump = (): void => {
        while (!response.destroyed && response.write(piece));
      };
      response.on('drain', pump);
      response.on('close', () => {
        closed += 1;
      });
      pump();
    });
  });
  await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve));
  const { port } = endless.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    closed: () => closed,
    close: () => new Promise<void>((resolve) => endless.close(() => resolve())),
  };
}

async function waitUntilClosed(server: { closed: () => number }): Promise<void> {
  for (let waited = 0; server.closed() === 0; waited += 20) {
    assert.ok(waited < 5_000, 'the endless answer was closed');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('an endless response body is kept up to its bound, then the answer is cut and flagged truncated', async (t) => {
  // A server that answers the upload with a body that never ends would fill the user's disk.
  const endless = await endlessServer(200);
  t.after(() => endless.close());
  const { input } = uploadInput(`${endless.url}/endless`, small);
  const result = await uploadHttp(input);
  assert.equal(result.response.statusCode, 200);
  assert.equal(result.response.bodyTruncated, true);
  assert.equal(result.bytesReceived, RESPONSE_BODY_LIMIT_BYTES);
  assert.equal((await stat(input.responseBodyPath)).size, RESPONSE_BODY_LIMIT_BYTES);
  await waitUntilClosed(endless);
});

test('a redirect whose body never ends is followed all the same: its body is read to the bound at most', async (t) => {
  const endless = await endlessServer(307);
  t.after(() => endless.close());
  const { input } = uploadInput(`${endless.url}/moved`, small);
  const result = await uploadHttp(input);
  assert.equal(result.response.statusCode, 201);
  assert.equal(result.response.actualUri, `${endless.url}/done`);
  await waitUntilClosed(endless);
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
  // Larger than the loopback socket buffers: with 3 MiB the whole body could be in them when the abort
  // came, and the server then read it to its end (complete, never aborted).
  const file = await writeRandomFile(dir.path, 'aborted.bin', 24 * MiB);
  const target = await server({ throttleBytesPerSecond: 16 * MiB });
  const controller = new AbortController();
  const { input } = uploadInput(`${target.url}/abort`, file, { signal: controller.signal });
  const reason = new TransferError('BT_ERR_CANCELED', 'canceled by the test');
  const rejected = assert.rejects(uploadHttp(input), (error: unknown) => error === reason);
  const request = await target.waitForRequest((candidate) => candidate.bodyBytes >= 256 * 1024);
  controller.abort(reason);
  await rejected;
  assert.deepEqual(openDescriptorsOf(file.path), [], 'the source file handle is closed when the promise settles');
  await target.waitForRequest((candidate) => candidate.aborted);
  assert.equal(request.complete, false);

  const { input: late } = uploadInput(`${target.url}/abort`, file, { signal: controller.signal });
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
