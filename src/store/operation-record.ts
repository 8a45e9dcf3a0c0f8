import type { SerializedTransferError } from '../core/errors.ts';
import type { OperationExtras } from '../core/operation-extras.ts';
import type { OperationSnapshot, OperationSpec, ResponseSnapshot } from '../core/snapshot.ts';

/** What the store keeps about one operation: the snapshot the API sees plus the engine's own fields. */
export interface OperationRecord extends Omit<OperationSnapshot, 'contentDigest'> {
  /** Request headers in the order the app set them (R63 joins repeats before they get here). */
  headers: Array<[string, string]>;
  /** Source identity recorded at start, to detect a file that changed. */
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
  /** Bytes the server acknowledged having (tus/IETF Upload-Offset, FTP SIZE): where a resume starts. */
  ackOffset: number;
  /** Also holds the snapshot's contentDigest (no column of its own). */
  extras: OperationExtras;
}

/** What the engine stores for a new operation: the app's spec with the engine's own extras. */
export interface NewOperation extends Omit<OperationSpec, 'extras'> {
  /** The engine's: the app's request with its own state filled in (spool path, no session yet). */
  extras?: OperationExtras;
  /** The exact body length (file size, or the encoded multipart length). */
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

/** What a request that completed leaves besides its status: its last counters, and extras that changed. */
export interface CompletionUpdate {
  progress: ProgressUpdate;
  /** Stored as updateExtras would; undefined keeps the stored extras. */
  extras?: OperationExtras | undefined;
}

export interface RequeueOptions {
  /** The next request starts from byte 0: bytesSent resets and hasRestarted is set (R38). */
  restart: boolean;
  /** Count this as a failed attempt (retry) or not (recovery, network loss). */
  countAttempt: boolean;
  notBeforeMs: number;
  /** The server acknowledged new bytes during the failed attempt: the count starts over. */
  resetAttempts?: boolean;
  /** The error that caused the retry, kept for `list` until the next attempt. */
  lastError?: SerializedTransferError | null;
}

export type { ResponseSnapshot };

/** What the host runs once every member of a completion group has ended (R78, R79). */
export interface CompletionTaskSpec {
  /** Program and arguments, run without a shell. */
  command: string;
  args: string[];
  cwd: string | null;
}

export interface NewCompletionGroup {
  id: string;
  appId: string;
  task: CompletionTaskSpec;
}

export interface CompletionGroupRecord extends NewCompletionGroup {
  enabled: boolean;
  firedAtMs: number | null;
}

/** Where a page of an enumeration ends: queue order is (seq, guid), so the next page starts after it. */
export interface ListCursor {
  seq: number;
  guid: string;
}

/** One page of an enumeration: up to `limit` operations after `after` (null: from the start). */
export interface ListPage {
  after: ListCursor | null;
  limit: number;
}

/** One operation of an enumeration page as the host sends it: its cursor and its snapshot's JSON text. */
export type SnapshotRow = [guid: string, seq: number, json: string];
