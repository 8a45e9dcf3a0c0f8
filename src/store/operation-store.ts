import type { BackgroundTransferStatus } from '../core/enums.ts';
import type { SerializedTransferError } from '../core/errors.ts';
import type { OperationExtras } from '../core/operation-extras.ts';
import type {
  ListFilter,
  OperationPatch,
  ResponseSnapshot,
  TransferDirection,
  TransferGroupSpec,
} from '../core/snapshot.ts';
import type { SnapshotForm } from '../core/snapshot-row.ts';
import type { EndpointCapability } from './endpoint-capability.ts';
import type {
  CompletionGroupRecord,
  CompletionUpdate,
  ListPage,
  NewCompletionGroup,
  NewOperation,
  OperationRecord,
  ProgressUpdate,
  RequeueOptions,
  SnapshotRow,
} from './operation-record.ts';
import type { StatusEvent } from './queries.ts';

/**
 * The durable state of every operation. Each method is one atomic transaction. Transition methods
 * (`moveTo*`) check the prior status against core/transitions.ts and return the updated record, or
 * null when the operation is not in a status that allows the transition (it raced with another one).
 */
export interface OperationStore {
  /** Inserts a new operation in status idle (queued), at the end of the queue. Throws BT_ERR_INVALID_ARGUMENT for a duplicate guid. */
  insertOperation(operation: NewOperation): OperationRecord;
  getOperation(guid: string): OperationRecord | undefined;
  /**
   * The app's operations matching the filter (and of one direction, if given), in queue order (seq,
   * then guid); with `page`, only up to page.limit of them after page.after.
   */
  listOperations(appId: string, filter: ListFilter, page?: ListPage, direction?: TransferDirection): OperationRecord[];
  /**
   * listOperations as each operation's snapshot in JSON text (and its cursor), for the enumerations the
   * host sends as they are: objects, or rows (core/snapshot-row.ts). Optional: the engine makes the text
   * from records where a store has none.
   */
  listSnapshots?(
    appId: string,
    filter: ListFilter,
    page?: ListPage,
    direction?: TransferDirection,
    form?: SnapshotForm,
  ): SnapshotRow[];
  /** Every operation in one of these statuses (any app), in queue order. */
  listByStatus(statuses: readonly BackgroundTransferStatus[]): OperationRecord[];
  /** Whether any operation (any app) is in one of these statuses; reads no row. */
  hasStatus(statuses: readonly BackgroundTransferStatus[]): boolean;

  /** idle → running. Clears the last error. */
  moveToRunning(guid: string): OperationRecord | null;
  /** running|idle → idle, for a retry or crash recovery (see RequeueOptions). */
  moveToQueued(guid: string, options: RequeueOptions): OperationRecord | null;
  /** running → completed. */
  moveToCompleted(guid: string, final?: CompletionUpdate): OperationRecord | null;
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
  /** costPolicy / priority / headers / requestedUri of a live operation. Returns null if the operation is finished. */
  updateProperties(guid: string, patch: OperationPatch): OperationRecord | null;

  /** Status-only transitions: pause/resume (beyond Windows), network lost/back (R50), metered (R53). */
  applyEvent(guid: string, event: StatusEvent): OperationRecord | null;
  /** R32: rewrites queue positions, in one transaction. */
  setSequences(sequences: ReadonlyArray<readonly [string, number]>): void;
  /** R29: the app's operations that have not ended. */
  countLiveOperations(appId: string): number;
  /** How many of the app's operations are in each status (statuses with none are left out). */
  countByStatus(appId: string): Map<BackgroundTransferStatus, number>;
  /** R28: the app's transfer groups that still have unfinished operations. */
  liveTransferGroupNames(appId: string): Set<string>;
  /**
   * A request stopped without a status change; `restart`: the next one starts at byte 0 (R38). Else
   * `progress`, when given, is the stopped request's last counters, stored in any status but a final one.
   */
  markInterrupted(guid: string, restart: boolean, progress?: ProgressUpdate): void;
  /** The server acknowledged having `ackOffset` bytes. No-op for finished operations. */
  recordAcknowledged(guid: string, ackOffset: number): void;
  /** Replaces the operation's extras (resume session, …). */
  updateExtras(guid: string, extras: OperationExtras): OperationRecord | null;

  /** R78: a completion group, not yet enabled. */
  createCompletionGroup(group: NewCompletionGroup): void;
  getCompletionGroup(id: string): CompletionGroupRecord | undefined;
  /** R80: true the first time, false when it was already enabled or does not exist. */
  enableCompletionGroup(id: string): boolean;
  /** Enabled groups whose task has not run yet. */
  listPendingCompletionGroups(): CompletionGroupRecord[];
  listCompletionGroupMembers(id: string): OperationRecord[];
  /** R75: operations created by one uploader that has notifications set. */
  listNotificationBatch(batchId: string): OperationRecord[];
  /** R74: true for exactly one caller per batch, across restarts (the notification is shown once). */
  markBatchNotified(batchId: string): boolean;
  /** R81: true for exactly one caller. */
  markCompletionGroupFired(id: string): boolean;

  /** The app's stored transfer group of that name (R26, R27), if any. */
  getTransferGroup(appId: string, name: string): TransferGroupSpec | undefined;
  /** Transfer groups persist across sessions (R27); same name → same group (R26). */
  upsertTransferGroup(appId: string, group: TransferGroupSpec): void;

  /** What `endpoint` speaks, unless never learned or expired (docs/protocols.md, "Endpoint memory"). */
  getEndpointCapability(endpoint: string): EndpointCapability | undefined;
  /** Every endpoint learned and not expired, read once so that later lookups need no query. */
  listEndpointCapabilities(): Map<string, EndpointCapability>;
  /** Replaces what is known of `endpoint`. */
  rememberEndpointCapability(endpoint: string, capability: EndpointCapability): void;
  /** The endpoint seems to have changed: the next upload probes it again. */
  forgetEndpointCapability(endpoint: string): void;

  /**
   * Runs `callback` once every write made so far is durable. A store that commits each write before it
   * returns (the default) calls it at once; one that groups commits (GroupCommit) calls it after the
   * commit. Acknowledgements to apps wait for it.
   */
  afterCommit?(callback: () => void): void;

  close(): void;
}
