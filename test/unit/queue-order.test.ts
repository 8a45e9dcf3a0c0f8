import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BackgroundTransferPriority as P } from '../../src/core/enums.ts';
import { pickReady } from '../../src/engine/queue-order.ts';
import type { OperationRecord } from '../../src/store/operation-record.ts';

function queued(guid: string, seq: number, priority: number, notBeforeMs = 0): OperationRecord {
  return { guid, seq, priority, notBeforeMs } as OperationRecord;
}

test('R31: high goes before default, default before low, then oldest first', () => {
  const records = [queued('a', 1, P.default), queued('b', 2, P.low), queued('c', 3, P.high), queued('d', 4, P.default)];
  const { ready } = pickReady(records, 10, 0);
  assert.deepEqual(
    ready.map((r) => r.guid),
    ['c', 'a', 'd', 'b'],
  );
});

test('only as many as there are free slots', () => {
  const records = [queued('a', 1, P.default), queued('b', 2, P.default), queued('c', 3, P.default)];
  assert.deepEqual(
    pickReady(records, 2, 0).ready.map((r) => r.guid),
    ['a', 'b'],
  );
  assert.deepEqual(pickReady(records, 0, 0).ready, []);
});

test('operations in retry back-off wait, and the earliest wake time is reported', () => {
  const records = [queued('a', 1, P.high, 5000), queued('b', 2, P.default, 0), queued('c', 3, P.default, 3000)];
  const pick = pickReady(records, 5, 1000);
  assert.deepEqual(
    pick.ready.map((r) => r.guid),
    ['b'],
  );
  assert.equal(pick.nextWakeMs, 3000);
  assert.equal(pickReady(records, 5, 6000).nextWakeMs, undefined);
});
