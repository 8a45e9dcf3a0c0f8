import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { exposedGc } from '../../src/core/exposed-gc.ts';
import { watchQuietShrink } from '../../src/host/quiet-shrink.ts';

/**
 * The transfer host runs a few spaced full collections once it has been quiet for a while, once per
 * quiet period (host/quiet-shrink.ts). Timings have wide margins: only order and counts are asserted.
 */

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await sleep(10);
}

test('collections run after quiet has lasted, once per quiet period, and none while busy', async () => {
  let busy = true;
  let collected = 0;
  const stop = watchQuietShrink({
    isQuiet: () => !busy,
    collect: () => {
      collected += 1;
    },
    quietMs: 100,
    collections: 3,
    spacingMs: 10,
  });
  try {
    await sleep(400);
    assert.equal(collected, 0, 'busy: nothing collected');
    busy = false;
    await until(() => collected === 3);
    assert.equal(collected, 3);
    await sleep(400);
    assert.equal(collected, 3, 'one shrink per quiet period');
    busy = true;
    await sleep(300);
    assert.equal(collected, 3);
    busy = false;
    await until(() => collected === 6);
    assert.equal(collected, 6, 'busy again, then quiet: a second shrink');
  } finally {
    stop();
  }
});

test('work that returns mid-shrink stops the remaining collections', async () => {
  let busy = false;
  let collected = 0;
  const stop = watchQuietShrink({
    isQuiet: () => !busy,
    collect: () => {
      collected += 1;
      busy = true;
    },
    quietMs: 50,
    collections: 5,
    spacingMs: 20,
  });
  try {
    await until(() => collected === 1);
    await sleep(300);
    assert.equal(collected, 1);
  } finally {
    stop();
  }
});

test('the stop function ends the watch', async () => {
  let collected = 0;
  const stop = watchQuietShrink({ isQuiet: () => true, collect: () => (collected += 1), quietMs: 100 });
  stop();
  await sleep(400);
  assert.equal(collected, 0);
});

test("V8's gc function is reachable in this Node, and a full collection runs", () => {
  const gc = exposedGc();
  assert.equal(typeof gc, 'function');
  gc?.({ type: 'major' });
  assert.equal(exposedGc(), gc, 'taken once');
});
