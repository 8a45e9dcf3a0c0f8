import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { answerRange, contentRange, ifRangeAllowsRange } from '../helpers/range-request.ts';

/** The download test servers' reading of RFC 9110's Range and If-Range, checked case by case. */

describe('answerRange', () => {
  const size = 1000;
  const cases: ReadonlyArray<[string | undefined, ReturnType<typeof answerRange>]> = [
    [undefined, { kind: 'none' }],
    ['bytes=0-499', { kind: 'range', range: { first: 0, last: 499 } }],
    ['bytes=500-', { kind: 'range', range: { first: 500, last: 999 } }],
    ['bytes=999-', { kind: 'range', range: { first: 999, last: 999 } }],
    ['bytes=900-5000', { kind: 'range', range: { first: 900, last: 999 } }],
    ['bytes=-100', { kind: 'range', range: { first: 900, last: 999 } }],
    ['bytes=-5000', { kind: 'range', range: { first: 0, last: 999 } }],
    ['Bytes = 10 - 19', { kind: 'range', range: { first: 10, last: 19 } }],
    ['bytes=1000-', { kind: 'unsatisfiable' }],
    ['bytes=1000-1001', { kind: 'unsatisfiable' }],
    ['bytes=-0', { kind: 'unsatisfiable' }],
    ['bytes=20-10', { kind: 'none' }],
    ['bytes=0-1,5-6', { kind: 'none' }],
    ['items=0-1', { kind: 'none' }],
    ['bytes=a-b', { kind: 'none' }],
    ['bytes=1', { kind: 'none' }],
    ['bytes', { kind: 'none' }],
    ['bytes=-', { kind: 'none' }],
    ['bytes=+1-2', { kind: 'none' }],
  ];
  for (const [header, expected] of cases) {
    test(`${header ?? '(no Range)'} → ${expected.kind}`, () => {
      assert.deepEqual(answerRange(header, size), expected);
    });
  }

  test('an empty representation satisfies no range', () => {
    assert.deepEqual(answerRange('bytes=0-', 0), { kind: 'unsatisfiable' });
    assert.deepEqual(answerRange('bytes=-1', 0), { kind: 'unsatisfiable' });
  });
});

describe('ifRangeAllowsRange', () => {
  const lastModified = 'Mon, 07 Dec 2026 00:00:00 GMT';
  const strong = { etag: '"v1-3e8-1"', lastModified };

  test('no If-Range lets the range through', () => {
    assert.equal(ifRangeAllowsRange(undefined, strong), true);
  });
  test('the current strong ETag matches; another tag does not', () => {
    assert.equal(ifRangeAllowsRange('"v1-3e8-1"', strong), true);
    assert.equal(ifRangeAllowsRange('"v2-3e8-1"', strong), false);
  });
  test('weak tags never match, on either side', () => {
    assert.equal(ifRangeAllowsRange('W/"v1-3e8-1"', strong), false);
    assert.equal(ifRangeAllowsRange('W/"v1"', { etag: 'W/"v1"', lastModified }), false);
    assert.equal(ifRangeAllowsRange('"v1"', { etag: 'W/"v1"', lastModified }), false);
  });
  test('a tag when the server sends no ETag does not match', () => {
    assert.equal(ifRangeAllowsRange('"v1"', { etag: null, lastModified }), false);
  });
  test('a date matches the exact Last-Modified, in any HTTP date form', () => {
    assert.equal(ifRangeAllowsRange(lastModified, strong), true);
    assert.equal(ifRangeAllowsRange('Monday, 07-Dec-26 00:00:00 GMT', strong), true);
    assert.equal(ifRangeAllowsRange('Mon, 07 Dec 2026 00:00:01 GMT', strong), false);
    assert.equal(ifRangeAllowsRange('Sun, 06 Dec 2026 23:59:59 GMT', strong), false);
  });
  test('a date that does not parse, or no Last-Modified, means the whole body', () => {
    assert.equal(ifRangeAllowsRange('yesterday', strong), false);
    assert.equal(ifRangeAllowsRange(lastModified, { etag: strong.etag, lastModified: null }), false);
  });
});

test('contentRange writes 206 and 416 forms', () => {
  assert.equal(contentRange({ first: 0, last: 9 }, 10), 'bytes 0-9/10');
  assert.equal(contentRange(null, 10), 'bytes */10');
});
