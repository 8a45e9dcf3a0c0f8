import type { SerializedTransferError } from '../core/errors.ts';
import type { OperationSnapshot, OperationSpec, ResponseSnapshot } from '../core/snapshot.ts';

/** What the store keeps about one operation: the snapshot the API sees plus the engine's own fields. */
export interface OperationRecord extends OperationSnapshot {
  /** Request headers in the order the app set them (R63 joins repeats before they get here). */
  headers: Array<[string, string]>;
  /** Source identity recorded at start, to detect a file that changed (issue 4 §6). */
  sourceSize: number;
  sourceMtimeMs: number;
  sourceIno: number;
  /** Attempts made since the last time the server acknowledged new bytes. */
  attempts: number;
  /** Earliest time the scheduler may start the next attempt (retry back-off), ms since epoch. */
  notBeforeMs: number;
  /** Queue order: insertion sequence, rewritten by reordering (R31). */
  seq: number;
  updatedAtMs: number;
}

export interface NewOperation extends OperationSpec {
  sourceSize: number;
  sourceMtimeMs: number;
  sourceIno: number;
  createdAtMs: number;
}

export interface ProgressUpdate {
  bytesSent: number;
  bytesReceived: number;
  totalBytesToReceive: number;
}

export interface RequeueOptions {
  /** The next request starts from byte 0: bytesSent resets and hasRestarted is set (R38). */
  restart: boolean;
  /** Count this as a failed attempt (retry) or not (recovery, network loss). */
  countAttempt: boolean;
  notBeforeMs: number;
  /** The error that caused the retry, kept for `list` until the next attempt. */
  lastError?: SerializedTransferError | null;
}

export type { ResponseSnapshot };
