import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TransferError } from '../../src/core/errors.ts';
import { decideRetry, parseRetryAfter } from '../../src/engine/retry-policy.ts';

const policy = { maxAttempts: 3, retryBaseDelayMs: 1000, maxDelayMs: 60_000 };
const http = (status: number) => new TransferError('BT_ERR_HTTP_STATUS', `status ${status}`, { httpStatus: status });
const rejected = (status: number) =>
  new TransferError('BT_ERR_UPLOAD_REJECTED', `status ${status}`, { httpStatus: status });

// R49: up to three attempts; only "try later" statuses and network errors are retried.
const table: Array<[string, TransferError, number, 'retry' | 'fail']> = [
  ['408 retried', http(408), 1, 'retry'],
  ['429 retried', http(429), 1, 'retry'],
  ['500 retried', http(500), 1, 'retry'],
  ['503 retried', http(503), 2, 'retry'],
  ['503 after the last attempt fails', http(503), 3, 'fail'],
  ['400 fails', http(400), 1, 'fail'],
  ['404 fails', http(404), 1, 'fail'],
  ['409 fails', http(409), 1, 'fail'],
  ['423 (tus: upload locked) retried', http(423), 1, 'retry'],
  ['413 fails', http(413), 1, 'fail'],
  ['501 fails', http(501), 1, 'fail'],
  ['connection reset retried', new TransferError('BT_ERR_CONNECTION_RESET', 'x'), 1, 'retry'],
  ['cannot connect retried', new TransferError('BT_ERR_CANNOT_CONNECT', 'x'), 2, 'retry'],
  ['timeout retried', new TransferError('BT_ERR_TIMEOUT', 'x'), 1, 'retry'],
  ['untrusted certificate fails', new TransferError('BT_ERR_CERT_UNTRUSTED', 'x'), 1, 'fail'],
  ['changed source fails', new TransferError('BT_ERR_SOURCE_CHANGED', 'x'), 1, 'fail'],
  // A draft server's error with Upload-Complete: ?1 is final whatever its status (the status is for the HRESULT).
  ['final 500 (upload rejected) fails', rejected(500), 1, 'fail'],
  ['final 503 (upload rejected) fails', rejected(503), 1, 'fail'],
  ['final 422 (upload rejected) fails', rejected(422), 1, 'fail'],
];

for (const [name, error, attempts, expected] of table) {
  test(`retry policy: ${name}`, () => {
    assert.equal(decideRetry(error, attempts, policy, undefined, 0.5).kind, expected);
  });
}

test('retry policy: exponential back-off with equal jitter stays within [d/2, d]', () => {
  const error = new TransferError('BT_ERR_CONNECTION_RESET', 'x');
  const big = { ...policy, maxAttempts: 10 };
  for (const [attempt, full] of [
    [1, 1000],
    [2, 2000],
    [3, 4000],
  ] as const) {
    const low = decideRetry(error, attempt, big, undefined, 0);
    const high = decideRetry(error, attempt, big, undefined, 0.999999);
    assert.deepEqual(low, { kind: 'retry', delayMs: full / 2 });
    assert.equal(high.kind === 'retry' && high.delayMs, full);
  }
});

test('retry policy: Retry-After wins over back-off but is capped', () => {
  assert.deepEqual(decideRetry(http(429), 1, policy, 5000, 0.5), { kind: 'retry', delayMs: 5000 });
  assert.deepEqual(decideRetry(http(503), 1, policy, 3_600_000, 0.5), { kind: 'retry', delayMs: 60_000 });
});

test('parseRetryAfter reads seconds and HTTP dates', () => {
  const now = Date.parse('2026-11-25T00:00:00Z');
  assert.equal(parseRetryAfter('7', now), 7000);
  assert.equal(parseRetryAfter('Wed, 25 Nov 2026 00:00:10 GMT', now), 10_000);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
});
