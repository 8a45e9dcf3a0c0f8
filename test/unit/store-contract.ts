import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  BackgroundTransferBehavior,
  BackgroundTransferCostPolicy,
  BackgroundTransferPriority,
  BackgroundTransferStatus as S,
} from '../../src/core/enums.ts';
import { DEFAULT_EXTRAS } from '../../src/core/operation-extras.ts';
import type { OperationRecord } from '../../src/store/operation-record.ts';
import type { OperationStore } from '../../src/store/operation-store.ts';
import { assertThrowsCode, GIB, newOperation } from '../helpers/store-fixtures.ts';
import { runEndpointContract } from './store-contract-endpoints.ts';
import { runExtrasContract } from './store-contract-extras.ts';
import { runTransitionContract } from './store-contract-transitions.ts';

/** The same behaviour for every OperationStore implementation. `makeStore` returns a fresh, empty store. */
export function runStoreContract(name: string, makeStore: () => OperationStore): void {
  describe(`${name}: OperationStore contract`, () => {
    let store: OperationStore;
    beforeEach(() => {
      store = makeStore();
    });
    afterEach(() => {
      store.close();
    });

    function guids(records: readonly OperationRecord[]): string[] {
      return records.map((record) => record.guid);
    }

    describe('insert and get', () => {
      it('round-trips every field, with a queued record and zeroed counters', () => {
        const headers: Array<[string, string]> = [
          ['X-B', '1'],
          ['content-TYPE', 'text/plain'],
          ['x-a', '2'],
          ['X-B', '3'],
        ];
        const spec = newOperation({
          guid: 'big',
          method: 'POST',
          headers,
          costPolicy: BackgroundTransferCostPolicy.unrestrictedOnly,
          priority: BackgroundTransferPriority.high,
          group: 'legacy',
          transferGroup: { name: 'photos', transferBehavior: BackgroundTransferBehavior.serialized },
          sourceSize: 5 * GIB,
          sourceMtimeMs: 1_700_000_000_123.456,
          sourceIno: 2 ** 40 + 7,
        });
        const before = Date.now();
        const inserted = store.insertOperation(spec);
        const after = Date.now();
        const expected: OperationRecord = {
          guid: 'big',
          appId: 'app.a',
          method: 'POST',
          requestedUri: 'https://example.test/upload/1',
          sourcePath: '/data/file-1.bin',
          group: 'legacy',
          transferGroup: { name: 'photos', transferBehavior: BackgroundTransferBehavior.serialized },
          costPolicy: BackgroundTransferCostPolicy.unrestrictedOnly,
          priority: BackgroundTransferPriority.high,
          progress: {
            bytesSent: 0,
            totalBytesToSend: 5 * GIB,
            bytesReceived: 0,
            totalBytesToReceive: 0,
            status: S.idle,
            hasResponseChanged: false,
            hasRestarted: false,
          },
          responseVersion: 0,
          response: null,
          error: null,
          createdAtMs: 1_700_000_000_500,
          ackOffset: 0,
          extras: { ...DEFAULT_EXTRAS },
          direction: 'upload',
          resultPath: null,
          headers,
          sourceSize: 5 * GIB,
          sourceMtimeMs: 1_700_000_000_123.456,
          sourceIno: 2 ** 40 + 7,
          attempts: 0,
          notBeforeMs: 0,
          seq: inserted.seq,
          updatedAtMs: inserted.updatedAtMs,
        };
        assert.deepEqual(inserted, expected);
        assert.deepEqual(store.getOperation('big'), expected);
        assert.ok(Number.isSafeInteger(inserted.seq) && inserted.seq > 0);
        assert.ok(inserted.updatedAtMs >= before && inserted.updatedAtMs <= after);
      });

      it('returns undefined for an unknown guid', () => {
        assert.equal(store.getOperation('missing'), undefined);
      });

      it('hands out copies: mutating a returned record does not change the store', () => {
        const record = store.insertOperation(newOperation());
        record.headers.push(['X-Evil', '1']);
        record.progress.status = S.completed;
        const stored = store.getOperation('op-1');
        assert.deepEqual(stored?.headers, [['X-Trace', 'abc']]);
        assert.equal(stored?.progress.status, S.idle);
      });

      it('refuses a duplicate guid with BT_ERR_INVALID_ARGUMENT and keeps the first operation', () => {
        store.insertOperation(newOperation({ requestedUri: 'https://example.test/first' }));
        assertThrowsCode(
          () => store.insertOperation(newOperation({ requestedUri: 'https://example.test/second' })),
          'BT_ERR_INVALID_ARGUMENT',
        );
        assert.equal(store.getOperation('op-1')?.requestedUri, 'https://example.test/first');
        assert.equal(store.listOperations('app.a', { kind: 'all' }).length, 1);
      });

      it('refuses sizes that do not round-trip as integers', () => {
        assertThrowsCode(() => store.insertOperation(newOperation({ sourceSize: 1.5 })), 'BT_ERR_INVALID_ARGUMENT');
        assertThrowsCode(() => store.insertOperation(newOperation({ sourceSize: 2 ** 53 })), 'BT_ERR_INVALID_ARGUMENT');
        assertThrowsCode(() => store.insertOperation(newOperation({ sourceSize: -1 })), 'BT_ERR_INVALID_ARGUMENT');
        assert.equal(store.getOperation('op-1'), undefined);
      });
    });

    describe('list filters (R22–R24) and queue order', () => {
      beforeEach(() => {
        const tg = { name: 'tg', transferBehavior: BackgroundTransferBehavior.parallel };
        store.insertOperation(newOperation({ guid: 'a-plain' }));
        store.insertOperation(newOperation({ guid: 'b-other-app', appId: 'app.b' }));
        store.insertOperation(newOperation({ guid: 'c-group', group: 'g1' }));
        store.insertOperation(newOperation({ guid: 'd-other-app-group', appId: 'app.b', group: 'g1' }));
        store.insertOperation(newOperation({ guid: 'e-tg', transferGroup: tg }));
        store.insertOperation(newOperation({ guid: 'f-both', group: 'g1', transferGroup: tg }));
        store.insertOperation(newOperation({ guid: 'g-other-app-tg', appId: 'app.b', transferGroup: tg }));
        store.insertOperation(newOperation({ guid: 'h-group2', group: 'g2' }));
      });

      it('ungrouped: neither a group nor a transfer group (R22)', () => {
        assert.deepEqual(guids(store.listOperations('app.a', { kind: 'ungrouped' })), ['a-plain']);
        assert.deepEqual(guids(store.listOperations('app.b', { kind: 'ungrouped' })), ['b-other-app']);
      });

      it('group: the legacy group name, whatever the transfer group (R23)', () => {
        assert.deepEqual(guids(store.listOperations('app.a', { kind: 'group', group: 'g1' })), ['c-group', 'f-both']);
        assert.deepEqual(guids(store.listOperations('app.a', { kind: 'group', group: 'g2' })), ['h-group2']);
        assert.deepEqual(guids(store.listOperations('app.a', { kind: 'group', group: 'nope' })), []);
      });

      it('transferGroup: the BackgroundTransferGroup name (R24)', () => {
        assert.deepEqual(guids(store.listOperations('app.a', { kind: 'transferGroup', name: 'tg' })), [
          'e-tg',
          'f-both',
        ]);
        assert.deepEqual(guids(store.listOperations('app.b', { kind: 'transferGroup', name: 'tg' })), [
          'g-other-app-tg',
        ]);
      });

      it("all: every operation of the app and none of another app's", () => {
        assert.deepEqual(guids(store.listOperations('app.a', { kind: 'all' })), [
          'a-plain',
          'c-group',
          'e-tg',
          'f-both',
          'h-group2',
        ]);
        assert.deepEqual(guids(store.listOperations('app.c', { kind: 'all' })), []);
      });

      it('queue order is insertion order (seq), not guid order, across apps', () => {
        store.insertOperation(newOperation({ guid: '0-last' }));
        const all = store.listOperations('app.a', { kind: 'all' });
        assert.deepEqual(guids(all).at(-1), '0-last');
        const seqs = store.listByStatus([S.idle]).map((record) => record.seq);
        assert.equal(seqs.length, 9);
        assert.deepEqual(
          seqs,
          [...seqs].sort((a, b) => a - b),
        );
        assert.equal(new Set(seqs).size, 9);
      });

      it('listByStatus: any app, only the given statuses, in queue order', () => {
        store.moveToRunning('c-group');
        store.moveToRunning('b-other-app');
        store.moveToCanceled('a-plain');
        assert.deepEqual(guids(store.listByStatus([S.running])), ['b-other-app', 'c-group']);
        assert.deepEqual(guids(store.listByStatus([S.canceled, S.running])), ['a-plain', 'b-other-app', 'c-group']);
        assert.deepEqual(guids(store.listByStatus([S.completed])), []);
        assert.deepEqual(guids(store.listByStatus([])), []);
      });
    });

    runTransitionContract(() => store);
    runExtrasContract(() => store);
    runEndpointContract(() => store);

    describe('close', () => {
      it('is idempotent and later calls fail with BT_ERR_STORE', () => {
        store.insertOperation(newOperation());
        store.close();
        store.close();
        assertThrowsCode(() => store.getOperation('op-1'), 'BT_ERR_STORE');
        assertThrowsCode(() => store.moveToRunning('op-1'), 'BT_ERR_STORE');
      });
    });
  });
}
