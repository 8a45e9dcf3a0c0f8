import { BackgroundTransferStatus, isTerminalStatus } from '../core/enums.ts';
import { type SerializedTransferError, TransferError } from '../core/errors.ts';
import type { OperationExtras } from '../core/operation-extras.ts';
import type {
  ListFilter,
  OperationPatch,
  ResponseSnapshot,
  TransferDirection,
  TransferGroupSpec,
} from '../core/snapshot.ts';
import { nextStatus, type TransitionEvent } from '../core/transitions.ts';
import { applyCompletion } from './apply-completion.ts';
import { type EndpointCapability, MemoryEndpointCapabilities } from './endpoint-capability.ts';
import { MemoryCompletionGroups } from './memory-completion-groups.ts';
import type {
  CompletionGroupRecord,
  CompletionUpdate,
  ListPage,
  NewCompletionGroup,
  NewOperation,
  OperationRecord,
  ProgressUpdate,
  RequeueOptions,
} from './operation-record.ts';
import type { OperationStore } from './operation-store.ts';
import type { StatusEvent } from './queries.ts';
import { newOperationRow, rowToRecord } from './record-mapping.ts';
import { assertCount, assertNewOperation, assertProgress, toStoredTimeMs } from './store-guards.ts';

export interface MemoryStoreOptions {
  /** Clock for updatedAtMs (tests); defaults to Date.now. */
  now?: () => number;
}

/** R22–R24, the same predicates as the SQL of queries.ts. */
function matchesFilter(record: OperationRecord, filter: ListFilter): boolean {
  switch (filter.kind) {
    case 'ungrouped':
      return record.group === null && record.transferGroup === null;
    case 'group':
      return record.group === filter.group;
    case 'transferGroup':
      return record.transferGroup?.name === filter.name;
    case 'all':
      return true;
  }
}

/** Queue order, as the SQLite store's: seq, then guid. */
function bySeq(a: OperationRecord, b: OperationRecord): number {
  return a.seq - b.seq || (a.guid < b.guid ? -1 : a.guid > b.guid ? 1 : 0);
}

/**
 * OperationStore kept in a Map, with the SQLite store's semantics (test/unit/store-contract.ts runs the
 * same cases against both). Records are copied in and out, so a caller mutating a returned record cannot
 * change the store, just as with rows read from SQLite. Nothing survives close().
 */
export class MemoryOperationStore implements OperationStore {
  readonly #operations = new Map<string, OperationRecord>();
  /** Keyed by appId and name (R26: same name → same group within an app). */
  readonly #groups = new Map<string, TransferGroupSpec>();
  readonly #completionGroups: MemoryCompletionGroups;
  readonly #now: () => number;
  readonly #endpoints: MemoryEndpointCapabilities;
  #lastSeq = 0;
  #closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#completionGroups = new MemoryCompletionGroups(this.#now);
    this.#endpoints = new MemoryEndpointCapabilities(this.#now);
  }

  getEndpointCapability(endpoint: string): EndpointCapability | undefined {
    this.#assertOpen();
    return this.#endpoints.get(endpoint);
  }

  listEndpointCapabilities(): Map<string, EndpointCapability> {
    this.#assertOpen();
    return this.#endpoints.all();
  }

  rememberEndpointCapability(endpoint: string, capability: EndpointCapability): void {
    this.#assertOpen();
    this.#endpoints.remember(endpoint, capability);
  }

  forgetEndpointCapability(endpoint: string): void {
    this.#assertOpen();
    this.#endpoints.forget(endpoint);
  }

  insertOperation(operation: NewOperation): OperationRecord {
    this.#assertOpen();
    assertNewOperation(operation);
    if (this.#operations.has(operation.guid)) {
      throw new TransferError('BT_ERR_INVALID_ARGUMENT', `an operation with guid ${operation.guid} already exists`);
    }
    // Built through the row mapping so defaults and JSON normalisation match the SQLite store exactly.
    const record = rowToRecord({ ...newOperationRow(operation, this.#now()), seq: this.#lastSeq + 1 });
    this.#lastSeq = record.seq;
    if (operation.transferGroup) {
      const key = groupKey(operation.appId, operation.transferGroup.name);
      if (!this.#groups.has(key)) this.#groups.set(key, structuredClone(operation.transferGroup));
    }
    this.#operations.set(record.guid, record);
    return structuredClone(record);
  }

  getOperation(guid: string): OperationRecord | undefined {
    this.#assertOpen();
    const record = this.#operations.get(guid);
    return record === undefined ? undefined : structuredClone(record);
  }

  listOperations(appId: string, filter: ListFilter, page?: ListPage, direction?: TransferDirection): OperationRecord[] {
    this.#assertOpen();
    const after = page?.after;
    const all = this.#select(
      (record) =>
        record.appId === appId &&
        matchesFilter(record, filter) &&
        (direction === undefined || record.direction === direction) &&
        (!after || record.seq > after.seq || (record.seq === after.seq && record.guid > after.guid)),
    );
    return page && page.limit >= 0 ? all.slice(0, page.limit) : all;
  }

  hasStatus(statuses: readonly BackgroundTransferStatus[]): boolean {
    this.#assertOpen();
    for (const record of this.#operations.values()) if (statuses.includes(record.progress.status)) return true;
    return false;
  }

  listByStatus(statuses: readonly BackgroundTransferStatus[]): OperationRecord[] {
    this.#assertOpen();
    return this.#select((record) => statuses.includes(record.progress.status));
  }

  moveToRunning(guid: string): OperationRecord | null {
    return this.#transition(guid, 'start', (record) => {
      record.error = null;
    });
  }

  moveToQueued(guid: string, options: RequeueOptions): OperationRecord | null {
    const notBeforeMs = toStoredTimeMs(options.notBeforeMs, 'notBeforeMs');
    return this.#transition(guid, 'requeue', (record) => {
      if (options.restart) {
        record.progress.bytesSent = 0;
        record.progress.bytesReceived = 0;
        record.progress.totalBytesToReceive = 0;
        record.progress.hasRestarted = true;
      }
      if (options.resetAttempts) record.attempts = 0;
      if (options.countAttempt) record.attempts += 1;
      record.notBeforeMs = notBeforeMs;
      // undefined keeps the stored error; null clears it (same as the SQL's @replaceError).
      if (options.lastError !== undefined) record.error = copyError(options.lastError);
    });
  }

  moveToCompleted(guid: string, final?: CompletionUpdate): OperationRecord | null {
    return this.#transition(guid, 'complete', applyCompletion(final));
  }

  moveToFailed(guid: string, error: SerializedTransferError): OperationRecord | null {
    const stored = copyError(error);
    return this.#transition(guid, 'fail', (record) => {
      record.error = stored;
    });
  }

  moveToCanceled(guid: string): OperationRecord | null {
    return this.#transition(guid, 'cancel', () => {});
  }

  recordProgress(guid: string, progress: ProgressUpdate): void {
    this.#assertOpen();
    assertProgress(progress);
    const record = this.#operations.get(guid);
    if (record?.progress.status !== BackgroundTransferStatus.running) return;
    record.progress.bytesSent = progress.bytesSent;
    record.progress.bytesReceived = progress.bytesReceived;
    record.progress.totalBytesToReceive = progress.totalBytesToReceive;
    record.progress.hasRestarted = false;
    record.progress.hasResponseChanged = false;
    record.updatedAtMs = this.#now();
  }

  recordResponse(guid: string, response: ResponseSnapshot, totalBytesToReceive: number): OperationRecord | null {
    this.#assertOpen();
    assertCount(totalBytesToReceive, 'totalBytesToReceive');
    const record = this.#operations.get(guid);
    if (record?.progress.status !== BackgroundTransferStatus.running) return null;
    const { statusCode, actualUri, isResumable, headers, bodyTruncated } = response;
    record.response = structuredClone({ statusCode, actualUri, isResumable, headers });
    if (bodyTruncated) record.response.bodyTruncated = true;
    record.responseVersion += 1;
    record.progress.hasResponseChanged = true;
    record.progress.totalBytesToReceive = totalBytesToReceive;
    record.progress.bytesReceived = 0;
    record.updatedAtMs = this.#now();
    return structuredClone(record);
  }

  resetReceived(guid: string): void {
    this.#assertOpen();
    const record = this.#operations.get(guid);
    if (record === undefined || isTerminalStatus(record.progress.status)) return;
    record.progress.bytesReceived = 0;
    record.progress.totalBytesToReceive = 0;
    record.updatedAtMs = this.#now();
  }

  updateProperties(guid: string, patch: OperationPatch): OperationRecord | null {
    this.#assertOpen();
    const record = this.#operations.get(guid);
    if (record === undefined || isTerminalStatus(record.progress.status)) return null;
    if (patch.costPolicy !== undefined) record.costPolicy = patch.costPolicy;
    if (patch.priority !== undefined) record.priority = patch.priority;
    if (patch.headers !== undefined) record.headers = structuredClone(patch.headers);
    if (patch.requestedUri !== undefined) record.requestedUri = patch.requestedUri;
    record.updatedAtMs = this.#now();
    return structuredClone(record);
  }

  upsertTransferGroup(appId: string, group: TransferGroupSpec): void {
    this.#assertOpen();
    this.#groups.set(groupKey(appId, group.name), { name: group.name, transferBehavior: group.transferBehavior });
  }

  /** The remembered transfer group (R27), or undefined. Not part of OperationStore: for tests. */
  getTransferGroup(appId: string, name: string): TransferGroupSpec | undefined {
    this.#assertOpen();
    const group = this.#groups.get(groupKey(appId, name));
    return group === undefined ? undefined : structuredClone(group);
  }

  applyEvent(guid: string, event: StatusEvent): OperationRecord | null {
    return this.#transition(guid, event, () => {});
  }

  setSequences(sequences: ReadonlyArray<readonly [string, number]>): void {
    this.#assertOpen();
    for (const [guid, seq] of sequences) {
      const record = this.#operations.get(guid);
      if (record) record.seq = seq;
    }
  }

  countByStatus(appId: string): Map<BackgroundTransferStatus, number> {
    this.#assertOpen();
    const counts = new Map<BackgroundTransferStatus, number>();
    for (const record of this.#operations.values()) {
      if (record.appId !== appId) continue;
      counts.set(record.progress.status, (counts.get(record.progress.status) ?? 0) + 1);
    }
    return counts;
  }

  countLiveOperations(appId: string): number {
    this.#assertOpen();
    return [...this.#operations.values()].filter((r) => r.appId === appId && !isTerminalStatus(r.progress.status))
      .length;
  }

  liveTransferGroupNames(appId: string): Set<string> {
    this.#assertOpen();
    const names = new Set<string>();
    for (const record of this.#operations.values()) {
      if (record.appId === appId && record.transferGroup && !isTerminalStatus(record.progress.status)) {
        names.add(record.transferGroup.name);
      }
    }
    return names;
  }

  markInterrupted(guid: string, restart: boolean, progress?: ProgressUpdate): void {
    this.#assertOpen();
    const record = this.#operations.get(guid);
    if (record === undefined || isTerminalStatus(record.progress.status)) return;
    if (!restart) {
      if (progress !== undefined) {
        Object.assign(record.progress, progress);
        record.updatedAtMs = this.#now();
      }
      return;
    }
    record.progress.bytesSent = 0;
    record.progress.bytesReceived = 0;
    record.progress.totalBytesToReceive = 0;
    record.progress.hasRestarted = true;
    record.updatedAtMs = this.#now();
  }

  recordAcknowledged(guid: string, ackOffset: number): void {
    this.#assertOpen();
    assertCount(ackOffset, 'ackOffset');
    const record = this.#operations.get(guid);
    if (record === undefined || isTerminalStatus(record.progress.status)) return;
    record.ackOffset = ackOffset;
    record.updatedAtMs = this.#now();
  }

  updateExtras(guid: string, extras: OperationExtras): OperationRecord | null {
    this.#assertOpen();
    const record = this.#operations.get(guid);
    if (record === undefined) return null;
    record.extras = structuredClone(extras);
    record.updatedAtMs = this.#now();
    return structuredClone(record);
  }

  createCompletionGroup(group: NewCompletionGroup): void {
    this.#assertOpen();
    this.#completionGroups.create(group);
  }

  getCompletionGroup(id: string): CompletionGroupRecord | undefined {
    this.#assertOpen();
    return this.#completionGroups.get(id);
  }

  enableCompletionGroup(id: string): boolean {
    this.#assertOpen();
    return this.#completionGroups.enable(id);
  }

  listPendingCompletionGroups(): CompletionGroupRecord[] {
    this.#assertOpen();
    return this.#completionGroups.listPending();
  }

  listCompletionGroupMembers(id: string): OperationRecord[] {
    this.#assertOpen();
    return this.#select((record) => record.extras.completionGroupId === id);
  }

  listNotificationBatch(batchId: string): OperationRecord[] {
    this.#assertOpen();
    return this.#select((record) => record.extras.notificationBatchId === batchId);
  }

  markBatchNotified(batchId: string): boolean {
    this.#assertOpen();
    return this.#completionGroups.markBatchNotified(batchId);
  }

  markCompletionGroupFired(id: string): boolean {
    this.#assertOpen();
    return this.#completionGroups.markFired(id);
  }

  close(): void {
    this.#closed = true;
    this.#completionGroups.clear();
    this.#operations.clear();
    this.#groups.clear();
  }

  #assertOpen(): void {
    if (this.#closed) throw new TransferError('BT_ERR_STORE', 'the operation store is closed');
  }

  #select(predicate: (record: OperationRecord) => boolean): OperationRecord[] {
    return [...this.#operations.values()]
      .filter(predicate)
      .sort(bySeq)
      .map((record) => structuredClone(record));
  }

  /** The guarded update of the SQLite store: apply only when the table allows `event` from the current status. */
  #transition(guid: string, event: TransitionEvent, apply: (record: OperationRecord) => void): OperationRecord | null {
    this.#assertOpen();
    const record = this.#operations.get(guid);
    if (record === undefined) return null;
    const status = nextStatus(record.progress.status, event);
    if (status === null) return null;
    record.progress.status = status;
    apply(record);
    record.updatedAtMs = this.#now();
    return structuredClone(record);
  }
}

function groupKey(appId: string, name: string): string {
  // JSON of the pair: unambiguous whatever characters the app id or the name contain.
  return JSON.stringify([appId, name]);
}

/** The error as the SQLite store's JSON round trip returns it: no `httpStatus` key when there is none. */
function copyError(error: SerializedTransferError | null): SerializedTransferError | null {
  if (error === null) return null;
  const { code, message, httpStatus } = error;
  return httpStatus === undefined ? { code, message } : { code, message, httpStatus };
}
