import Database from 'better-sqlite3';
import type { BackgroundTransferStatus } from '../core/enums.ts';
import { type SerializedTransferError, TransferError } from '../core/errors.ts';
import type { OperationExtras } from '../core/operation-extras.ts';
import type {
  ListFilter,
  OperationPatch,
  ResponseSnapshot,
  TransferDirection,
  TransferGroupSpec,
} from '../core/snapshot.ts';
import type { SnapshotForm } from '../core/snapshot-row.ts';
import { type EndpointCapability, SqliteEndpointCapabilities } from './endpoint-capability.ts';
import { ListQueries } from './list-queries.ts';
import { openDatabase, storeError } from './open-database.ts';
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
import type { OperationStore } from './operation-store.ts';
import type { StatusEvent } from './queries.ts';
import {
  errorToJson,
  extrasToJson,
  headersToJson,
  newOperationRow,
  responseToJson,
  rowToRecord,
  rowToTransferGroup,
} from './record-mapping.ts';
import { SqliteCompletionGroups } from './sqlite-completion-groups.ts';
import { completionParams, prepareAll, type Statements } from './sqlite-statements.ts';
import { StoreCalls } from './sqlite-store-calls.ts';
import { assertCount, assertNewOperation, assertProgress, toStoredTimeMs } from './store-guards.ts';

export interface SqliteStoreOptions {
  /** Clock for updatedAtMs (tests); defaults to Date.now. */
  now?: () => number;
  /**
   * Batch the writes of one event-loop turn into one transaction (GroupCommit). Whoever tells an app
   * about a write must then wait for afterCommit(). onError gets a failed commit.
   */
  groupCommit?: { onError: (error: unknown) => void } | undefined;
}

/**
 * OperationStore on one better-sqlite3 connection (synchronous: every call is one short transaction).
 * WAL lets the CLI read while the engine writes; synchronous=NORMAL is durable across process crashes
 * (a power loss may drop the last transactions, never corrupt the file). The -wal and -shm files get the
 * database file's mode from SQLite.
 */
export class SqliteOperationStore implements OperationStore {
  readonly #db: Database.Database;
  readonly #now: () => number;
  readonly #sql: Statements;
  readonly #lists: ListQueries;
  readonly #calls: StoreCalls;
  readonly #endpoints: SqliteEndpointCapabilities;
  readonly #groups: SqliteCompletionGroups;
  /**
   * Unfinished operations per app, counted once per app and then kept (insert +1, the move to a final
   * status -1): a COUNT per start grew with the queue. One engine owns the file (the home lock).
   */
  readonly #live = new Map<string, number>();

  private constructor(db: Database.Database, options: SqliteStoreOptions) {
    this.#db = db;
    const now = options.now ?? Date.now;
    this.#now = now;
    this.#sql = prepareAll(db);
    this.#lists = new ListQueries(db);
    this.#calls = new StoreCalls(db, this.#sql, this.#lists, options.groupCommit);
    this.#endpoints = new SqliteEndpointCapabilities(db, now);
    this.#groups = new SqliteCompletionGroups({
      sql: this.#sql,
      now,
      run: (what, run) => this.#calls.run(what, run),
      write: (what, run) => this.#calls.write(what, run),
    });
  }

  /**
   * Opens (creating if needed) the store at `path` and migrates it; `:memory:` gives a private database.
   * A file store is checked first: not a link, and the very database this home had (open-database.ts).
   */
  static open(path: string, options: SqliteStoreOptions = {}): SqliteOperationStore {
    return new SqliteOperationStore(openDatabase(path), options);
  }

  insertOperation(operation: NewOperation): OperationRecord {
    assertNewOperation(operation);
    const row = newOperationRow(operation, this.#now());
    try {
      const inserted = this.#calls.insert(row);
      if (inserted === undefined) throw new TransferError('BT_ERR_STORE', `operation ${operation.guid} vanished`);
      this.#countLive(inserted.appId, 1);
      return rowToRecord(inserted);
    } catch (error) {
      if (error instanceof Database.SqliteError && error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new TransferError('BT_ERR_INVALID_ARGUMENT', `an operation with guid ${operation.guid} already exists`, {
          cause: error,
        });
      }
      throw storeError('insertOperation failed', error);
    }
  }

  getOperation(guid: string): OperationRecord | undefined {
    const row = this.#calls.run('getOperation', () => this.#sql.selectOperation.get(guid));
    return row === undefined ? undefined : rowToRecord(row);
  }

  listOperations(appId: string, filter: ListFilter, page?: ListPage, direction?: TransferDirection): OperationRecord[] {
    return this.#calls
      .run('listOperations', () => this.#lists.records(appId, filter, page, direction))
      .map(rowToRecord);
  }

  listSnapshots(
    appId: string,
    filter: ListFilter,
    page?: ListPage,
    direction?: TransferDirection,
    form?: SnapshotForm,
  ): SnapshotRow[] {
    return this.#calls.run('listSnapshots', () => this.#lists.snapshots(appId, filter, page, direction, form));
  }

  hasStatus(statuses: readonly BackgroundTransferStatus[]): boolean {
    return this.#calls.run('hasStatus', () => this.#sql.hasStatus.get(JSON.stringify(statuses))?.found === 1);
  }

  listByStatus(statuses: readonly BackgroundTransferStatus[]): OperationRecord[] {
    const rows = this.#calls.run('listByStatus', () => this.#sql.listByStatus.all(JSON.stringify(statuses)));
    return rows.map(rowToRecord);
  }

  moveToRunning(guid: string): OperationRecord | null {
    return this.#calls.update('moveToRunning', guid, () => this.#sql.moveToRunning.run({ guid, now: this.#now() }));
  }

  moveToQueued(guid: string, options: RequeueOptions): OperationRecord | null {
    const notBeforeMs = toStoredTimeMs(options.notBeforeMs, 'notBeforeMs');
    const { lastError } = options;
    return this.#calls.update('moveToQueued', guid, () =>
      this.#sql.moveToQueued.run({
        guid,
        now: this.#now(),
        restart: options.restart ? 1 : 0,
        attemptIncrement: options.countAttempt ? 1 : 0,
        resetAttempts: options.resetAttempts ? 1 : 0,
        notBeforeMs,
        replaceError: lastError === undefined ? 0 : 1,
        errorJson: lastError == null ? null : errorToJson(lastError),
      }),
    );
  }

  moveToCompleted(guid: string, final?: CompletionUpdate): OperationRecord | null {
    const params = completionParams(final);
    return this.#ended(
      this.#calls.update('moveToCompleted', guid, () =>
        this.#sql.moveToCompleted.run({ guid, now: this.#now(), ...params }),
      ),
    );
  }

  moveToFailed(guid: string, error: SerializedTransferError): OperationRecord | null {
    const errorJson = errorToJson(error);
    return this.#ended(
      this.#calls.update('moveToFailed', guid, () => this.#sql.moveToFailed.run({ guid, now: this.#now(), errorJson })),
    );
  }

  moveToCanceled(guid: string): OperationRecord | null {
    return this.#ended(
      this.#calls.update('moveToCanceled', guid, () => this.#sql.moveToCanceled.run({ guid, now: this.#now() })),
    );
  }

  recordProgress(guid: string, progress: ProgressUpdate): void {
    assertProgress(progress);
    const { bytesSent, bytesReceived, totalBytesToReceive } = progress;
    this.#calls.write(
      'recordProgress',
      () => this.#sql.recordProgress.run({ guid, now: this.#now(), bytesSent, bytesReceived, totalBytesToReceive }),
      guid,
    );
  }

  recordResponse(guid: string, response: ResponseSnapshot, totalBytesToReceive: number): OperationRecord | null {
    assertCount(totalBytesToReceive, 'totalBytesToReceive');
    const responseJson = responseToJson(response);
    // With group commit the answer is committed at the end of the turn its headers arrived in, before
    // any later byte of it is read: a host killed while the body comes in finds it (docs/delivery-
    // guarantees.md, rule 1). A kill within that turn is one before the answer was read at all.
    return this.#calls.update('recordResponse', guid, () =>
      this.#sql.recordResponse.run({ guid, now: this.#now(), responseJson, totalBytesToReceive }),
    );
  }

  resetReceived(guid: string): void {
    this.#calls.write('resetReceived', () => this.#sql.resetReceived.run({ guid, now: this.#now() }), guid);
  }

  updateProperties(guid: string, patch: OperationPatch): OperationRecord | null {
    return this.#calls.update('updateProperties', guid, () =>
      this.#sql.updateProperties.run({
        guid,
        now: this.#now(),
        costPolicy: patch.costPolicy ?? null,
        priority: patch.priority ?? null,
        headersJson: patch.headers === undefined ? null : headersToJson(patch.headers),
        requestedUri: patch.requestedUri ?? null,
      }),
    );
  }

  upsertTransferGroup(appId: string, group: TransferGroupSpec): void {
    this.#calls.write('upsertTransferGroup', () =>
      this.#sql.upsertTransferGroup.run(appId, group.name, group.transferBehavior),
    );
  }

  /** The persisted transfer group (R27), or undefined. Not part of OperationStore: for diagnostics and tests. */
  getTransferGroup(appId: string, name: string): TransferGroupSpec | undefined {
    const row = this.#calls.run('getTransferGroup', () => this.#sql.selectTransferGroup.get(appId, name));
    return row === undefined ? undefined : rowToTransferGroup(appId, row);
  }

  applyEvent(guid: string, event: StatusEvent): OperationRecord | null {
    return this.#calls.update(event, guid, () => this.#sql.statusEvents[event].run({ guid, now: this.#now() }));
  }

  setSequences(sequences: ReadonlyArray<readonly [string, number]>): void {
    const now = this.#now();
    const apply = this.#db.transaction(() => {
      for (const [guid, seq] of sequences) this.#sql.setSequence.run({ guid, now, seq });
    });
    this.#calls.write('setSequences', () => apply.immediate());
  }

  countByStatus(appId: string): Map<BackgroundTransferStatus, number> {
    const rows = this.#calls.run('countByStatus', () => this.#sql.countByStatus.all(appId));
    return new Map(rows.map((row) => [row.status, row.count]));
  }

  countLiveOperations(appId: string): number {
    let live = this.#live.get(appId);
    if (live === undefined) {
      live = this.#calls.run('countLiveOperations', () => this.#sql.countLive.get(appId)?.count ?? 0);
      this.#live.set(appId, live);
    }
    return live;
  }

  liveTransferGroupNames(appId: string): Set<string> {
    return new Set(
      this.#calls.run('liveTransferGroupNames', () => this.#sql.liveTransferGroups.all(appId)).map((row) => row.name),
    );
  }

  markInterrupted(guid: string, restart: boolean, progress?: ProgressUpdate): void {
    if (progress !== undefined) assertProgress(progress);
    const { bytesSent, bytesReceived, totalBytesToReceive } = progress ?? {
      bytesSent: 0,
      bytesReceived: 0,
      totalBytesToReceive: 0,
    };
    this.#calls.write(
      'markInterrupted',
      () =>
        this.#sql.markInterrupted.run({
          guid,
          now: this.#now(),
          restart: restart ? 1 : 0,
          counted: progress === undefined ? 0 : 1,
          bytesSent,
          bytesReceived,
          totalBytesToReceive,
        }),
      guid,
    );
  }

  recordAcknowledged(guid: string, ackOffset: number): void {
    assertCount(ackOffset, 'ackOffset');
    this.#calls.write(
      'recordAcknowledged',
      () => this.#sql.recordAcknowledged.run({ guid, now: this.#now(), ackOffset }),
      guid,
    );
  }

  updateExtras(guid: string, extras: OperationExtras): OperationRecord | null {
    const extrasJson = extrasToJson(extras);
    return this.#calls.update('updateExtras', guid, () =>
      this.#sql.updateExtras.run({ guid, now: this.#now(), extrasJson }),
    );
  }

  createCompletionGroup(group: NewCompletionGroup): void {
    this.#groups.create(group);
  }

  getCompletionGroup(id: string): CompletionGroupRecord | undefined {
    return this.#groups.get(id);
  }

  enableCompletionGroup(id: string): boolean {
    return this.#groups.enable(id);
  }

  listPendingCompletionGroups(): CompletionGroupRecord[] {
    return this.#groups.listPending();
  }

  listCompletionGroupMembers(id: string): OperationRecord[] {
    return this.#groups.listMembers(id);
  }

  listNotificationBatch(batchId: string): OperationRecord[] {
    return this.#groups.listBatch(batchId);
  }

  markBatchNotified(batchId: string): boolean {
    return this.#groups.markBatchNotified(batchId);
  }

  markCompletionGroupFired(id: string): boolean {
    return this.#groups.markFired(id);
  }

  getEndpointCapability(endpoint: string): EndpointCapability | undefined {
    return this.#calls.run('getEndpointCapability', () => this.#endpoints.get(endpoint));
  }

  listEndpointCapabilities(): Map<string, EndpointCapability> {
    return this.#calls.run('listEndpointCapabilities', () => this.#endpoints.all());
  }

  rememberEndpointCapability(endpoint: string, capability: EndpointCapability): void {
    this.#calls.write('rememberEndpointCapability', () => this.#endpoints.remember(endpoint, capability));
  }

  forgetEndpointCapability(endpoint: string): void {
    this.#calls.write('forgetEndpointCapability', () => this.#endpoints.forget(endpoint));
  }

  /** Idempotent. Checkpoints the WAL into the main file as SQLite does when the last connection closes. */
  close(): void {
    if (!this.#db.open) return;
    this.#calls.commitNow();
    this.#db.close();
  }

  /** Runs `callback` once every write made so far is durable (at once without group commit). */
  afterCommit(callback: () => void): void {
    this.#calls.afterCommit(callback);
  }

  /** The guarded moves to a final status start only from an unfinished one: a change is one less live. */
  #ended(record: OperationRecord | null): OperationRecord | null {
    if (record !== null) this.#countLive(record.appId, -1);
    return record;
  }

  /** Adjusts a count already taken; an app not counted yet is counted at its first countLiveOperations. */
  #countLive(appId: string, delta: number): void {
    const live = this.#live.get(appId);
    if (live !== undefined) this.#live.set(appId, live + delta);
  }
}
