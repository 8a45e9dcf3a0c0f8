import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JOIN_AFTER_BYTES, MAX_PIECE_BYTES, pieceBudget } from '../../src/protocols/http/exchange-request-body.ts';

/**
 * How big a piece of a request body may be: the stall timer watches pieces taken by the connection,
 * so a piece must be taken well within stallTimeoutMs at the pace the link showed.
 */

const MiB = 1024 * 1024;
const KiB = 1024;

test('no joining before JOIN_AFTER_BYTES went out, however fast the first pieces were taken', () => {
  // The first megabytes land in the kernel's socket buffer at memory speed.
  const budget = pieceBudget({ bytes: 256 * KiB, tookMs: 0, sentBytes: 8 * MiB, sendingMs: 1, stallTimeoutMs: 60_000 });
  assert.equal(budget, 0);
});

test('a fast link gets pieces of MAX_PIECE_BYTES', () => {
  const budget = pieceBudget({
    bytes: 256 * KiB,
    tookMs: 0.2,
    sentBytes: JOIN_AFTER_BYTES + MiB,
    sendingMs: 20,
    stallTimeoutMs: 60_000,
  });
  assert.equal(budget, MAX_PIECE_BYTES);
});

test('a link of 17 KB/s (1 MiB per 60 s) gets pieces it takes within a quarter of stallTimeoutMs', () => {
  const rate = 17_000 / 1000; // bytes per ms
  const sentBytes = JOIN_AFTER_BYTES + MiB;
  const budget = pieceBudget({
    bytes: 256 * KiB,
    tookMs: (256 * KiB) / rate,
    sentBytes,
    sendingMs: sentBytes / rate,
    stallTimeoutMs: 60_000,
  });
  assert.ok(budget < MAX_PIECE_BYTES, `budget ${budget}`);
  assert.ok(budget / rate <= 15_000 + 1, `a piece of ${budget} takes ${budget / rate} ms`);
});

test('a link that slowed down: the slower of the last piece and the whole body counts', () => {
  const fastSoFar = { sentBytes: JOIN_AFTER_BYTES * 4, sendingMs: 100, stallTimeoutMs: 60_000 };
  // The last 256 KiB took 20 s (13 KB/s): whatever came before, the next piece is smaller.
  const budget = pieceBudget({ bytes: 256 * KiB, tookMs: 20_000, ...fastSoFar });
  assert.ok(budget < 256 * KiB, `budget ${budget}`);
});

test('without a stall timer the pace does not matter', () => {
  const budget = pieceBudget({
    bytes: 1,
    tookMs: 10_000,
    sentBytes: JOIN_AFTER_BYTES,
    sendingMs: 1e7,
    stallTimeoutMs: 0,
  });
  assert.equal(budget, MAX_PIECE_BYTES);
});
