import assert from 'node:assert/strict';
import {
  BackgroundTransferCostPolicy,
  BackgroundTransferPriority,
  BackgroundTransferStatus,
} from '../../src/core/enums.ts';
import { type ErrorCode, type SerializedTransferError, TransferError } from '../../src/core/errors.ts';
import type { ResponseSnapshot } from '../../src/core/snapshot.ts';
import type { NewOperation, OperationRecord } from '../../src/store/operation-record.ts';
import type { OperationStore } from '../../src/store/operation-store.ts';

/** Fixtures shared by the OperationStore contract and the store-specific tests. */

export const GIB = 1024 ** 3;

export function newOperation(overrides: Partial<NewOperation> = {}): NewOperation {
  return {
    guid: 'op-1',
    appId: 'app.a',
    method: 'PUT',
    requestedUri: 'https://example.test/upload/1',
    sourcePath: '/data/file-1.bin',
    headers: [['X-Trace', 'abc']],
    costPolicy: BackgroundTransferCostPolicy.default,
    priority: BackgroundTransferPriority.default,
    group: null,
    transferGroup: null,
    sourceSize: 1000,
    sourceMtimeMs: 1_700_000_000_000,
    sourceIno: 42,
    createdAtMs: 1_700_000_000_500,
    ...overrides,
  };
}

export const RESPONSE: ResponseSnapshot = {
  statusCode: 201,
  actualUri: 'https://example.test/upload/1?redirected=1',
  isResumable: false,
  headers: [
    ['Content-Type', 'application/json'],
    ['x-Request-ID', 'r-1'],
    ['Set-Cookie', 'a=1'],
    ['Set-Cookie', 'b=2'],
  ],
};

export const HTTP_ERROR: SerializedTransferError = {
  code: 'BT_ERR_HTTP_STATUS',
  message: 'the server answered 503',
  httpStatus: 503,
};

export function assertThrowsCode(run: () => unknown, code: ErrorCode): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof TransferError, `expected a TransferError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

/** The statuses an operation can reach through the OperationStore interface alone. */
export type ReachableStatus = 'idle' | 'running' | 'completed' | 'canceled' | 'error';

/** Inserts `guid` and drives it to `status` with the store's own transitions. */
export function insertInStatus(store: OperationStore, guid: string, status: ReachableStatus): OperationRecord {
  const inserted = store.insertOperation(newOperation({ guid }));
  const result = ((): OperationRecord | null => {
    switch (status) {
      case 'idle':
        return inserted;
      case 'running':
        return store.moveToRunning(guid);
      case 'completed':
        return store.moveToRunning(guid) && store.moveToCompleted(guid);
      case 'canceled':
        return store.moveToCanceled(guid);
      case 'error':
        return store.moveToFailed(guid, HTTP_ERROR);
    }
  })();
  assert.ok(result, `could not drive ${guid} to ${status}`);
  assert.equal(result.progress.status, BackgroundTransferStatus[status]);
  return result;
}
