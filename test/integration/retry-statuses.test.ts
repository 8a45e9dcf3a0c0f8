import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BackgroundTransferStatus as S } from '../../src/core/enums.ts';
import { startEngine } from '../helpers/engine-harness.ts';
import { makeTempDir, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

/**
 * Retries as a table against a real server: a route answers `status` twice, then 201. "Try later"
 * statuses are retried (R49: 3 attempts) and complete; every other status fails at once with
 * 0x80190000+status and no further request.
 */
let server: UploadServer;
let files: TempDir;

before(async () => {
  server = await startUploadServer();
  files = await makeTempDir('retry-statuses-');
});
after(async () => {
  await server.close();
  await files.cleanup();
});

const TABLE: Array<[number, 'retried' | 'failed']> = [
  [408, 'retried'],
  [409, 'failed'],
  [413, 'failed'],
  [423, 'retried'],
  [429, 'retried'],
  [500, 'retried'],
  [503, 'retried'],
  [400, 'failed'],
  [401, 'failed'],
  [403, 'failed'],
  [404, 'failed'],
  [501, 'failed'],
];

test('retry policy against a real server: which statuses are retried', async () => {
  const h = await startEngine({ maxAttempts: 3, retryBaseDelayMs: 5 });
  try {
    const source = await writeRandomFile(files.path, 'table.bin', 20_000);
    for (const [status, expected] of TABLE) {
      const path = `/status-${status}`;
      let answered = 0;
      server.route(path, () => {
        answered += 1;
        return answered <= 2 ? { status, body: `status ${status}` } : { status: 201, body: 'stored' };
      });
      const { guid } = h.engine.start(h.spec({ sourcePath: source.path, requestedUri: `${server.url}${path}` }));
      const final = await h.waitFor(guid, (s) => s.progress.status === S.completed || s.progress.status === S.error);
      const requests = server.requests.filter((r) => r.url === path).length;
      if (expected === 'retried') {
        assert.equal(final.progress.status, S.completed, `${status} is retried until it succeeds`);
        assert.equal(requests, 3, `${status}: two answers of ${status}, then 201`);
      } else {
        assert.equal(final.progress.status, S.error, `${status} is not retried`);
        assert.equal(requests, 1, `${status}: one request only`);
        assert.equal(final.error?.httpStatus, status);
        assert.equal(final.response?.statusCode, status, 'the response stays readable (R43)');
      }
    }
  } finally {
    await h.close();
  }
});

test('Retry-After is honoured (429 with Retry-After: 1 waits about a second)', async () => {
  const h = await startEngine({ maxAttempts: 3, retryBaseDelayMs: 5 });
  try {
    const source = await writeRandomFile(files.path, 'after.bin', 1000);
    const times: number[] = [];
    server.route('/retry-after', () => {
      times.push(Date.now());
      return times.length === 1 ? { status: 429, headers: [['Retry-After', '1']], body: '' } : { status: 201 };
    });
    const { guid } = h.engine.start(h.spec({ sourcePath: source.path, requestedUri: `${server.url}/retry-after` }));
    await h.waitFor(guid, (s) => s.progress.status === S.completed);
    assert.equal(times.length, 2);
    const waited = (times[1] ?? 0) - (times[0] ?? 0);
    assert.ok(waited >= 950, `waited ${waited} ms`);
  } finally {
    await h.close();
  }
});

test('retries stop after maxAttempts: the error carries the last status', async () => {
  const h = await startEngine({ maxAttempts: 2, retryBaseDelayMs: 5 });
  try {
    const source = await writeRandomFile(files.path, 'exhaust.bin', 1000);
    server.route('/always-503', () => ({ status: 503, body: 'busy' }));
    const { guid } = h.engine.start(h.spec({ sourcePath: source.path, requestedUri: `${server.url}/always-503` }));
    const final = await h.waitFor(guid, (s) => s.progress.status === S.error);
    assert.equal(server.requests.filter((r) => r.url === '/always-503').length, 2);
    assert.equal(final.error?.code, 'BT_ERR_HTTP_STATUS');
    assert.equal(final.error?.httpStatus, 503);
  } finally {
    await h.close();
  }
});
