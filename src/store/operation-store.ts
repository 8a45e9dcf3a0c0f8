import type { BackgroundTransferStatus } from '../core/enums.ts';
import type { SerializedTransferError } from '../core/errors.ts';
import type { ListFilter, OperationPatch, ResponseSnapshot, TransferGroupSpec } from '../core/snapshot.ts';
import type { NewOperation, OperationRecord, ProgressUpdate, RequeueOptions } from './operation-record.ts';

/**
 * The durable state of every operation. Each method is one atomic transaction. Transition methods
 * (`moveTo*`) check the prior status against core/transitions.ts and return the updated record, or
 * null when the operation is not in a status that allows the transition (it raced with another one).
 */
export interface OperationStore {
  /** Inserts a new operation in status idle (queued), at the end of the queue. Throws BT_ERR_INVALID_ARGUMENT for a duplicate guid. */
  insertOperation(operation: NewOperation): OperationRecord;
  getOperation(guid: string): OperationRecord | undefined;
  /** The app's operations matching the filter, in queue order. */
  listOperations(appId: string, filter: ListFilter): OperationRecord[];
  /** Every operation in one of these statuses (any app), in queue order. */
  listByStatus(statuses: readonly BackgroundTransferStatus[]): OperationRecord[];

  /** idle → running. Clears the last error. */
  moveToRunning(guid: string): OperationRecord | null;
  /** running|idle → idle, for a retry or crash recovery (see RequeueOptions). */
  moveToQueued(guid: string, options: RequeueOptions): OperationRecord | null;
  /** running → completed. */
  moveToCompleted(guid: string): OperationRecord | null;
  /** live → error, keeping the error for the API. */
  moveToFailed(guid: string, error: SerializedTransferError): OperationRecord | null;
  /** live → canceled. */
  moveToCanceled(guid: string): OperationRecord | null;

  /** While running: byte counters. Clears hasRestarted/hasResponseChanged (they flag one notification, R38, R39). */
  recordProgress(guid: string, progress: ProgressUpdate): void;
  /** A new final response arrived: stores it, bumps responseVersion, sets hasResponseChanged (R39, R41). */
  recordResponse(guid: string, response: ResponseSnapshot, totalBytesToReceive: number): OperationRecord | null;
  /** Resets received counters when a new request begins (R35). */
  resetReceived(guid: string): void;
  /** costPolicy / priority / headers of a live operation. Returns null if the operation is finished. */
  updateProperties(guid: string, patch: OperationPatch): OperationRecord | null;

  /** Transfer groups persist across sessions (R27); same name → same group (R26). */
  upsertTransferGroup(appId: string, group: TransferGroupSpec): void;

  close(): void;
}
