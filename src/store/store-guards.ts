import { TransferError } from '../core/errors.ts';
import type { NewOperation, ProgressUpdate } from './operation-record.ts';

/**
 * Checks shared by every OperationStore so the SQLite and memory stores refuse the same inputs.
 * Byte counts and times are stored as SQLite INTEGERs: they must be non-negative safe integers (< 2^53)
 * to round-trip as JS numbers; a fractional or huge value is a caller bug, not a store failure.
 */
export function assertCount(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TransferError('BT_ERR_INVALID_ARGUMENT', `${name} must be a non-negative safe integer, got ${value}`);
  }
}

export function assertNewOperation(operation: NewOperation): void {
  assertCount(operation.sourceSize, 'sourceSize');
  assertCount(operation.sourceIno, 'sourceIno');
  assertCount(operation.createdAtMs, 'createdAtMs');
  if (!Number.isFinite(operation.sourceMtimeMs)) {
    throw new TransferError('BT_ERR_INVALID_ARGUMENT', `sourceMtimeMs must be finite, got ${operation.sourceMtimeMs}`);
  }
}

export function assertProgress(progress: ProgressUpdate): void {
  assertCount(progress.bytesSent, 'bytesSent');
  assertCount(progress.bytesReceived, 'bytesReceived');
  assertCount(progress.totalBytesToReceive, 'totalBytesToReceive');
}

/**
 * A retry time as stored: whole milliseconds, rounded up so a back-off computed with a fractional factor
 * never lets the scheduler start early.
 */
export function toStoredTimeMs(value: number, name: string): number {
  if (!Number.isFinite(value)) {
    throw new TransferError('BT_ERR_INVALID_ARGUMENT', `${name} must be finite, got ${value}`);
  }
  const rounded = Math.max(0, Math.ceil(value));
  assertCount(rounded, name);
  return rounded;
}
