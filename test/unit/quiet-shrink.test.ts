import assert from 'node:assert/strict';
import { constants, PerformanceObserver } from 'node:perf_hooks';
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

test("the host's collection, V8's gc called without an argument, is a real mark-compact", async (t) => {
  const kinds: number[] = [];
  const observer = new PerformanceObserver((list) => {
    // `detail` is on Node's gc entries, not on the PerformanceEntry type of @types/node 20.
    for (const entry of list.getEntries()) kinds.push((entry as unknown as { detail: { kind: number } }).detail.kind);
  });
  observer.observe({ entryTypes: ['gc'] });
  t.after(() => observer.disconnect());
  const gc = exposedGc();
  assert.equal(typeof gc, 'function');
  assert.equal(exposedGc(), gc, 'taken once');
  gc?.();
  // GC entries are delivered asynchronously.
  for (let waited = 0; !kinds.includes(constants.NODE_PERFORMANCE_GC_MAJOR) && waited < 5_000; waited += 20) {
    await sleep(20);
  }
  assert.ok(kinds.includes(constants.NODE_PERFORMANCE_GC_MAJOR), `gc kinds seen: ${kinds.join(', ')}`);
});
