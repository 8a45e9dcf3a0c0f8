import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BackgroundTransferPriority as P } from '../../src/core/enums.ts';
import { type QueueEntry, ReadyQueue } from '../../src/engine/ready-queue.ts';

function entry(guid: string, seq: number, priority: number, extra: Partial<QueueEntry> = {}): QueueEntry {
  return { guid, seq, priority, notBeforeMs: 0, costPolicy: 0, serializedGroup: null, ...extra };
}
const all = () => true;

test('R31: high goes before default, default before low, then oldest first', () => {
  const queue = new ReadyQueue();
  for (const e of [entry('a', 1, P.default), entry('b', 2, P.low), entry('c', 3, P.high), entry('d', 4, P.default)]) {
    queue.upsert(e);
  }
  assert.deepEqual(
    queue.pick(10, 0, all).ready.map((e) => e.guid),
    ['c', 'a', 'd', 'b'],
  );
});

test('changing priority (upsert) reorders a queued operation; remove takes it out', () => {
  const queue = new ReadyQueue();
  queue.upsert(entry('a', 1, P.default));
  queue.upsert(entry('b', 2, P.default));
  queue.upsert(entry('b', 2, P.high));
  assert.deepEqual(
    queue.pick(10, 0, all).ready.map((e) => e.guid),
    ['b', 'a'],
  );
  queue.remove('b');
  assert.equal(queue.size, 1);
  assert.equal(queue.has('b'), false);
});

test('only as many as there are free slots; delayed entries wait and report the wake time', () => {
  const queue = new ReadyQueue();
  queue.upsert(entry('a', 1, P.high, { notBeforeMs: 5000 }));
  queue.upsert(entry('b', 2, P.default));
  queue.upsert(entry('c', 3, P.default, { notBeforeMs: 3000 }));
  queue.upsert(entry('d', 4, P.default));
  const pick = queue.pick(1, 1000, all);
  assert.deepEqual(
    pick.ready.map((e) => e.guid),
    ['b'],
  );
  assert.equal(pick.nextWakeMs, 5000);
  assert.deepEqual(
    queue.pick(10, 1000, all).ready.map((e) => e.guid),
    ['b', 'd'],
  );
  assert.equal(queue.pick(10, 1000, all).nextWakeMs, 3000);
});

test('admit sees earlier picks (one per Serialized group, R30)', () => {
  const queue = new ReadyQueue();
  queue.upsert(entry('a', 1, P.default, { serializedGroup: 'g' }));
  queue.upsert(entry('b', 2, P.default, { serializedGroup: 'g' }));
  queue.upsert(entry('c', 3, P.default));
  const picked = queue.pick(
    10,
    0,
    (e, so) => !e.serializedGroup || !so.some((o) => o.serializedGroup === e.serializedGroup),
  );
  assert.deepEqual(
    picked.ready.map((e) => e.guid),
    ['a', 'c'],
  );
});

test('10,000 queued entries are inserted and picked quickly', () => {
  const queue = new ReadyQueue();
  const started = performance.now();
  for (let i = 10_000; i > 0; i -= 1) queue.upsert(entry(`e${i}`, i, i % 3));
  for (let i = 0; i < 1000; i += 1) {
    const [first] = queue.pick(1, 0, all).ready;
    if (first) queue.remove(first.guid);
  }
  assert.equal(queue.size, 9000);
  assert.ok(performance.now() - started < 2000);
});
