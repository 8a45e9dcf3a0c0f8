import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sizeOfReply } from '../../src/protocols/ftp/ftp-session.ts';

/** SIZE's reply (RFC 3659 §4): "213 <size>", which some servers follow with a comment. */
test('a 213 with a number is that size, a comment after it ignored', () => {
  assert.equal(sizeOfReply('213 0'), 0);
  assert.equal(sizeOfReply('213 5555'), 5555);
  assert.equal(sizeOfReply('213 5555, some commentary'), 5555);
  assert.equal(sizeOfReply('213 9007199254740991'), Number.MAX_SAFE_INTEGER);
});

test('a 213 that names no size tells none (ftp-srv on an empty file), nor does another reply', () => {
  assert.equal(sizeOfReply('213 File status'), null);
  assert.equal(sizeOfReply('213 '), null);
  assert.equal(sizeOfReply('213 -5'), null);
  assert.equal(sizeOfReply('250 5555'), null);
  assert.equal(sizeOfReply(''), null);
});
