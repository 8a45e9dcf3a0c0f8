import assert from 'node:assert/strict';
import { join } from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { test } from 'node:test';
import type { TransferError } from '../../src/core/errors.ts';
import {
  disableYoungCollections,
  enableYoungCollections,
  noteBodyBytesReleased,
  YOUNG_COLLECTION_STEP_BYTES,
} from '../../src/core/young-collection.ts';
import { ResponseFile } from '../../src/protocols/http/response-file.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

/**
 * The transfer host asks V8 for a young-generation collection every few MiB of response body written,
 * so that the socket buffers of a big download are freed by cheap scavenges instead of full
 * mark-compacts (core/young-collection.ts).
 */

test('a collection per step of bytes, none while off', (t) => {
  t.after(disableYoungCollections);
  const calls: unknown[] = [];
  noteBodyBytesReleased(3 * YOUNG_COLLECTION_STEP_BYTES);
  assert.equal(calls.length, 0);
  enableYoungCollections((options) => calls.push(options));
  noteBodyBytesReleased(YOUNG_COLLECTION_STEP_BYTES - 1);
  assert.equal(calls.length, 0, 'below one step');
  noteBodyBytesReleased(1);
  assert.deepEqual(calls, [{ type: 'minor' }]);
  for (let i = 0; i < 2 * YOUNG_COLLECTION_STEP_BYTES; i += 64 * 1024) noteBodyBytesReleased(64 * 1024);
  assert.equal(calls.length, 3);
  disableYoungCollections();
  noteBodyBytesReleased(YOUNG_COLLECTION_STEP_BYTES);
  assert.equal(calls.length, 3, 'off again');
});

test('a response file reports the bytes it wrote', async (t) => {
  t.after(disableYoungCollections);
  const dir = await makeTempDir('bgtransfer-young-collection-');
  t.after(() => dir.cleanup());
  let calls = 0;
  enableYoungCollections(() => {
    calls += 1;
  });
  const errors: TransferError[] = [];
  let written: () => void = () => {};
  const file = new ResponseFile(join(dir.path, 'body'), {
    onWritten: () => written(),
    onDrain() {},
    onError: (error) => errors.push(error),
  });
  // One chunk at a time, each written before the next is queued (queued chunks go out in one writev).
  const chunk = Buffer.alloc(1024 * 1024, 7);
  for (let i = 0; i < 2.5 * (YOUNG_COLLECTION_STEP_BYTES / chunk.byteLength); i++) {
    const done = new Promise<void>((resolve) => {
      written = resolve;
    });
    file.write(chunk);
    await done;
  }
  await file.end();
  assert.deepEqual(errors, []);
  assert.equal(calls, 2, '2.5 steps written: two collections');
});

test('by default the collection is a real V8 scavenge', async (t) => {
  t.after(disableYoungCollections);
  const kinds: number[] = [];
  const observer = new PerformanceObserver((list) => {
    // `detail` is on Node's gc entries, not on the PerformanceEntry type of @types/node 20.
    for (const entry of list.getEntries()) kinds.push((entry as unknown as { detail: { kind: number } }).detail.kind);
  });
  observer.observe({ entryTypes: ['gc'] });
  t.after(() => observer.disconnect());
  enableYoungCollections();
  noteBodyBytesReleased(YOUNG_COLLECTION_STEP_BYTES);
  // GC entries are delivered asynchronously.
  for (let waited = 0; !kinds.includes(constants.NODE_PERFORMANCE_GC_MINOR) && waited < 5_000; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(kinds.includes(constants.NODE_PERFORMANCE_GC_MINOR), `gc kinds seen: ${kinds.join(', ')}`);
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined', 'the main global gets no gc function');
});
