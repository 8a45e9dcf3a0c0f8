import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BackgroundTransferCostPolicy,
  BackgroundTransferPriority,
  BackgroundTransferStatus,
  BackgroundTransferStatus as S,
} from '../../src/core/enums.ts';
import type { SerializedTransferError } from '../../src/core/errors.ts';
import { nextStatus, type TransitionEvent } from '../../src/core/transitions.ts';
import type { OperationRecord } from '../../src/store/operation-record.ts';
import type { OperationStore } from '../../src/store/operation-store.ts';
import { GIB, HTTP_ERROR, insertInStatus, RESPONSE, type ReachableStatus } from '../helpers/store-fixtures.ts';

type Move = 'moveToRunning' | 'moveToQueued' | 'moveToCompleted' | 'moveToFailed' | 'moveToCanceled';

const EVENT_OF: Record<Move, TransitionEvent> = {
  moveToRunning: 'start',
  moveToQueued: 'requeue',
  moveToCompleted: 'complete',
  moveToFailed: 'fail',
  moveToCanceled: 'cancel',
};

/** Written out by hand (not derived from core/transitions.ts) so the table itself is checked too. */
const EXPECTED: Record<Move, Record<ReachableStatus, ReachableStatus | null>> = {
  moveToRunning: { idle: 'running', running: null, completed: null, canceled: null, error: null },
  moveToQueued: { idle: 'idle', running: 'idle', completed: null, canceled: null, error: null },
  moveToCompleted: { idle: null, running: 'completed', completed: null, canceled: null, error: null },
  moveToFailed: { idle: 'error', running: 'error', completed: null, canceled: null, error: null },
  moveToCanceled: { idle: 'canceled', running: 'canceled', completed: null, canceled: null, error: null },
};

const CANCEL_ERROR: SerializedTransferError = { code: 'BT_ERR_CANCELED', message: 'canceled by the app' };

function apply(store: OperationStore, move: Move, guid: string): OperationRecord | null {
  switch (move) {
    case 'moveToQueued':
      return store.moveToQueued(guid, { restart: false, countAttempt: false, notBeforeMs: 0 });
    case 'moveToFailed':
      return store.moveToFailed(guid, CANCEL_ERROR);
    default:
      return store[move](guid);
  }
}

/** Transition and counter semantics; `store()` is the fresh store of the current test. */
export function runTransitionContract(store: () => OperationStore): void {
  describe('transitions follow core/transitions.ts', () => {
    for (const [move, row] of Object.entries(EXPECTED) as Array<
      [Move, Record<ReachableStatus, ReachableStatus | null>]
    >) {
      for (const [from, to] of Object.entries(row) as Array<[ReachableStatus, ReachableStatus | null]>) {
        it(`${move} from ${from} → ${to ?? 'refused (null)'}`, () => {
          assert.equal(
            nextStatus(S[from], EVENT_OF[move]),
            to === null ? null : S[to],
            'the hand-written expectation disagrees with the transition table',
          );
          const before = insertInStatus(store(), 'op', from);
          const result = apply(store(), move, 'op');
          if (to === null) {
            assert.equal(result, null);
            assert.deepEqual(store().getOperation('op'), before, 'a refused transition changes nothing');
          } else {
            assert.equal(result?.progress.status, S[to]);
            assert.deepEqual(store().getOperation('op'), result, 'the returned record is the stored one');
          }
        });
      }
      it(`${move} of an unknown guid → null`, () => {
        assert.equal(apply(store(), move, 'missing'), null);
      });
    }

    it('moveToFailed keeps the error; moveToCanceled after completion is refused', () => {
      insertInStatus(store(), 'op', 'running');
      assert.deepEqual(store().moveToFailed('op', HTTP_ERROR)?.error, HTTP_ERROR);
      insertInStatus(store(), 'done', 'completed');
      assert.equal(store().moveToCanceled('done'), null);
      assert.equal(store().getOperation('done')?.progress.status, S.completed);
    });
  });

  describe('requeue (RequeueOptions)', () => {
    function runningWithCounters(): void {
      insertInStatus(store(), 'op', 'running');
      store().recordResponse('op', RESPONSE, 300);
      store().recordProgress('op', { bytesSent: 3 * GIB, bytesReceived: 120, totalBytesToReceive: 300 });
    }

    it('restart: counters to 0, hasRestarted set (R38), attempt counted, retry time and error stored', () => {
      runningWithCounters();
      const record = store().moveToQueued('op', {
        restart: true,
        countAttempt: true,
        notBeforeMs: 1_700_000_123_456.2,
        lastError: HTTP_ERROR,
      });
      assert.ok(record);
      assert.deepEqual(record.progress, {
        bytesSent: 0,
        totalBytesToSend: 1000,
        bytesReceived: 0,
        totalBytesToReceive: 0,
        status: S.idle,
        hasResponseChanged: false,
        hasRestarted: true,
      });
      assert.equal(record.attempts, 1);
      assert.equal(record.notBeforeMs, 1_700_000_123_457, 'rounded up to whole ms');
      assert.deepEqual(record.error, HTTP_ERROR);
      assert.deepEqual(record.response, RESPONSE, 'the last response stays until a new one arrives (R41)');
      assert.equal(record.responseVersion, 1);
    });

    it('no restart: counters and flags kept, attempt not counted', () => {
      runningWithCounters();
      const record = store().moveToQueued('op', { restart: false, countAttempt: false, notBeforeMs: 5 });
      assert.equal(record?.progress.bytesSent, 3 * GIB);
      assert.equal(record?.progress.bytesReceived, 120);
      assert.equal(record?.progress.totalBytesToReceive, 300);
      assert.equal(record?.progress.hasRestarted, false);
      assert.equal(record?.attempts, 0);
      assert.equal(record?.notBeforeMs, 5);
    });

    it('attempts accumulate across retries and survive progress; the next start clears the error', () => {
      insertInStatus(store(), 'op', 'idle');
      for (let attempt = 1; attempt <= 3; attempt += 1) {
        store().moveToRunning('op');
        store().recordProgress('op', { bytesSent: attempt * 100, bytesReceived: 0, totalBytesToReceive: 0 });
        const record = store().moveToQueued('op', {
          restart: true,
          countAttempt: true,
          notBeforeMs: 0,
          lastError: HTTP_ERROR,
        });
        assert.equal(record?.attempts, attempt);
      }
      const running = store().moveToRunning('op');
      assert.equal(running?.error, null);
      assert.equal(running?.attempts, 3);
    });

    it('lastError: undefined keeps the stored error, null clears it', () => {
      insertInStatus(store(), 'op', 'running');
      store().moveToQueued('op', { restart: false, countAttempt: true, notBeforeMs: 0, lastError: HTTP_ERROR });
      const kept = store().moveToQueued('op', { restart: false, countAttempt: false, notBeforeMs: 0 });
      assert.deepEqual(kept?.error, HTTP_ERROR);
      const cleared = store().moveToQueued('op', {
        restart: true,
        countAttempt: false,
        notBeforeMs: 0,
        lastError: null,
      });
      assert.equal(cleared?.error, null);
    });
  });

  describe('progress and responses (R35, R38, R39, R41)', () => {
    it('recordProgress stores counters beyond 2^32 and clears the one-shot flags', () => {
      insertInStatus(store(), 'op', 'running');
      store().moveToQueued('op', { restart: true, countAttempt: false, notBeforeMs: 0 });
      store().moveToRunning('op');
      store().recordResponse('op', RESPONSE, 10);
      const flagged = store().getOperation('op');
      assert.equal(flagged?.progress.hasRestarted, true);
      assert.equal(flagged?.progress.hasResponseChanged, true);
      store().recordProgress('op', { bytesSent: 5 * GIB - 1, bytesReceived: 7, totalBytesToReceive: 10 });
      const record = store().getOperation('op');
      assert.equal(record?.progress.bytesSent, 5 * GIB - 1);
      assert.equal(record?.progress.bytesReceived, 7);
      assert.equal(record?.progress.totalBytesToReceive, 10);
      assert.equal(record?.progress.hasRestarted, false);
      assert.equal(record?.progress.hasResponseChanged, false);
    });

    it('recordProgress is a no-op unless running', () => {
      for (const status of ['idle', 'completed', 'canceled'] as const) {
        const before = insertInStatus(store(), status, status);
        store().recordProgress(status, { bytesSent: 99, bytesReceived: 1, totalBytesToReceive: 2 });
        assert.deepEqual(store().getOperation(status), before);
      }
      store().recordProgress('missing', { bytesSent: 1, bytesReceived: 0, totalBytesToReceive: 0 });
      assert.equal(store().getOperation('missing'), undefined);
    });

    it('recordResponse bumps responseVersion each time and restarts the received count', () => {
      insertInStatus(store(), 'op', 'running');
      const first = store().recordResponse('op', RESPONSE, 300);
      assert.equal(first?.responseVersion, 1);
      assert.deepEqual(first?.response, RESPONSE);
      assert.equal(first?.progress.hasResponseChanged, true);
      assert.equal(first?.progress.totalBytesToReceive, 300);
      store().recordProgress('op', { bytesSent: 1000, bytesReceived: 300, totalBytesToReceive: 300 });
      const second = store().recordResponse('op', { ...RESPONSE, statusCode: 200, isResumable: true }, 6 * GIB);
      assert.equal(second?.responseVersion, 2);
      assert.equal(second?.response?.statusCode, 200);
      assert.equal(second?.response?.isResumable, true);
      assert.equal(second?.progress.bytesReceived, 0);
      assert.equal(second?.progress.totalBytesToReceive, 6 * GIB);
      assert.equal(second?.progress.bytesSent, 1000);
    });

    it('recordResponse is refused unless running', () => {
      const idle = insertInStatus(store(), 'idle', 'idle');
      assert.equal(store().recordResponse('idle', RESPONSE, 1), null);
      assert.deepEqual(store().getOperation('idle'), idle);
      insertInStatus(store(), 'done', 'completed');
      assert.equal(store().recordResponse('done', RESPONSE, 1), null);
      assert.equal(store().recordResponse('missing', RESPONSE, 1), null);
    });

    it('resetReceived zeroes the received counters of a live operation only', () => {
      insertInStatus(store(), 'op', 'running');
      store().recordProgress('op', { bytesSent: 10, bytesReceived: 20, totalBytesToReceive: 30 });
      store().resetReceived('op');
      const record = store().getOperation('op');
      assert.equal(record?.progress.bytesReceived, 0);
      assert.equal(record?.progress.totalBytesToReceive, 0);
      assert.equal(record?.progress.bytesSent, 10);

      insertInStatus(store(), 'done', 'running');
      store().recordProgress('done', { bytesSent: 1000, bytesReceived: 5, totalBytesToReceive: 5 });
      const completed = store().moveToCompleted('done');
      store().resetReceived('done');
      assert.deepEqual(store().getOperation('done'), completed);
    });
  });

  describe('updateProperties (R31, R52, R64)', () => {
    it('changes only the given properties of a live operation', () => {
      const before = insertInStatus(store(), 'op', 'running');
      const costOnly = store().updateProperties('op', { costPolicy: BackgroundTransferCostPolicy.always });
      assert.equal(costOnly?.costPolicy, BackgroundTransferCostPolicy.always);
      assert.equal(costOnly?.priority, before.priority);
      assert.deepEqual(costOnly?.headers, before.headers);
      const headers: Array<[string, string]> = [
        ['Z-Last', 'z'],
        ['a-first', 'a'],
      ];
      const all = store().updateProperties('op', { priority: BackgroundTransferPriority.low, headers });
      assert.equal(all?.costPolicy, BackgroundTransferCostPolicy.always);
      assert.equal(all?.priority, BackgroundTransferPriority.low);
      assert.deepEqual(all?.headers, headers);
      assert.equal(all?.progress.status, BackgroundTransferStatus.running);
      assert.deepEqual(store().getOperation('op'), all);
    });

    it('is refused (null) once the operation is completed, canceled or failed', () => {
      for (const status of ['completed', 'canceled', 'error'] as const) {
        const before = insertInStatus(store(), status, status);
        assert.equal(store().updateProperties(status, { priority: BackgroundTransferPriority.high }), null);
        assert.deepEqual(store().getOperation(status), before);
      }
      assert.equal(store().updateProperties('missing', { priority: BackgroundTransferPriority.high }), null);
    });
  });

  describe('updatedAtMs', () => {
    it('moves forward with each write', () => {
      const inserted = insertInStatus(store(), 'op', 'idle');
      const before = Date.now();
      const running = store().moveToRunning('op');
      assert.ok(running && running.updatedAtMs >= Math.max(before, inserted.updatedAtMs));
      assert.ok(running.updatedAtMs <= Date.now());
    });
  });
}
