import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TransferError } from '../../src/core/errors.ts';
import { SMALLEST_SPLIT_BYTES } from '../../src/protocols/http/smaller-body.ts';
import {
  checkUploadSize,
  expiresAt,
  nextAppendEnd,
  parseUploadLimit,
  smallerAppend,
} from '../../src/protocols/ietf/upload-limit.ts';

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

test('appends after a 413: the largest power of two below the refused size, within the announced limits', () => {
  const MiB = 1024 * 1024;
  assert.equal(smallerAppend({}, 5 * MiB + 321), 4 * MiB);
  assert.equal(smallerAppend({}, 4 * MiB), 2 * MiB);
  assert.equal(smallerAppend({}, MiB + 1), MiB, 'nginx’s 1m fits exactly');
  assert.equal(
    smallerAppend({ maxAppendSize: 700_000 }, 4 * MiB),
    700_000,
    'an announced max-append-size that is smaller',
  );
  assert.equal(smallerAppend({ maxAppendSize: 8 * MiB }, 4 * MiB), 2 * MiB, 'a larger one changes nothing');
  assert.equal(smallerAppend({ minAppendSize: 3 * MiB }, 4 * MiB), undefined, 'not below min-append-size');
  assert.equal(smallerAppend({}, 2 * SMALLEST_SPLIT_BYTES), SMALLEST_SPLIT_BYTES);
  assert.equal(smallerAppend({}, SMALLEST_SPLIT_BYTES), undefined, 'not below the smallest split');
  assert.equal(smallerAppend({}, 1), undefined);
});

test('appends: a cap from a 413 bounds them below max-append-size, and alone', () => {
  assert.equal(nextAppendEnd({ maxAppendSize: 100 }, 0, 1000, 40), 40);
  assert.equal(nextAppendEnd({ maxAppendSize: 30 }, 0, 1000, 40), 30);
  assert.equal(nextAppendEnd({}, 980, 1000, 40), 1000);
  assert.equal(nextAppendEnd({}, 0, 1000, undefined), 1000);
});
