import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TransferError } from '../../src/core/errors.ts';
import { checkUploadSize, expiresAt, nextAppendEnd, parseUploadLimit } from '../../src/protocols/ietf/upload-limit.ts';

const limit = (value: string) => [['Upload-Limit', value]] as Array<[string, string]>;

test('Upload-Limit: the known integer members; unknown keys and parameters ignored', () => {
  assert.deepEqual(parseUploadLimit(limit('max-size=1000, min-size=0, max-append-size=100;x=1, foo=?1'), 8), {
    maxSize: 1000,
    minSize: 0,
    maxAppendSize: 100,
  });
  assert.equal(parseUploadLimit([], 8), undefined);
});

test('Upload-Limit: a known key with another type voids the whole field', () => {
  for (const value of ['max-size=-1', 'max-size=1.5', 'max-size="10"', 'max-size', 'max-size=1234567890123456']) {
    assert.equal(parseUploadLimit(limit(`min-size=0, ${value}`), 8), undefined, value);
  }
});

test('Upload-Limit: the lifetime is `expires` in interop 6 and `max-age` in 8', () => {
  assert.deepEqual(parseUploadLimit(limit('expires=60, max-age=5'), 6), { maxAgeSeconds: 60 });
  assert.deepEqual(parseUploadLimit(limit('expires=60, max-age=5'), 8), { maxAgeSeconds: 5 });
  assert.equal(expiresAt({ maxAgeSeconds: 60 }, 1_000), 61_000);
  assert.equal(expiresAt({}, 1_000), null);
});

test('appends: pieces of max-append-size, the completing one shorter; unlimited = the rest at once', () => {
  const limits = { maxAppendSize: 100, minAppendSize: 60 };
  assert.equal(nextAppendEnd(limits, 0, 250), 100);
  assert.equal(nextAppendEnd(limits, 200, 250), 250);
  assert.equal(nextAppendEnd({}, 10, 250), 250);
});

test('limits the body cannot meet: BT_ERR_UPLOAD_LIMIT', () => {
  const code = (fn: () => void) =>
    assert.throws(fn, (error: unknown) => error instanceof TransferError && error.code === 'BT_ERR_UPLOAD_LIMIT');
  code(() => checkUploadSize({ maxSize: 10 }, 11, 'x'));
  code(() => checkUploadSize({ minAppendSize: 20, maxAppendSize: 10 }, 5, 'x'));
  checkUploadSize({ maxSize: 10 }, 10, 'x');
});
