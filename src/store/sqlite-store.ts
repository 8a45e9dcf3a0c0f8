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
import { GroupCommit } from './group-commit.ts';
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
  type OperationRow,
  responseToJson,
  rowToRecord,
  rowToTransferGroup,
} from './record-mapping.ts';
import { SqliteCompletionGroups } from './sqlite-completion-groups.ts';
import { completionParams, prepareAll, readUpdated, type Statements } from './sqlite-statements.ts';
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
  /** UPDATE then re-read, in one IMMEDIATE transaction (the write lock is taken up front: no upgrade races). */
  readonly #updateAndRead: Database.Transaction<
    (update: () => Database.RunResult, guid: string) => OperationRow | null
  >;
  readonly #insert: Database.Transaction<(row: Omit<OperationRow, 'seq'>) => OperationRow | undefined>;
  readonly #endpoints: SqliteEndpointCapabilities;
  readonly #group: GroupCommit | undefined;
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
    this.#group = options.groupCommit && new GroupCommit(db, options.groupCommit.onError);
    this.#sql = prepareAll(db);
    this.#lists = new ListQueries(db);
    this.#endpoints = new SqliteEndpointCapabilities(db, now);
    this.#groups = new SqliteCompletionGroups({
      sql: this.#sql,
      now,
      run: (what, run) => this.#run(what, run),
      write: (what, run) => this.#write(what, run),
    });
    this.#updateAndRead = db.transaction((update: () => Database.RunResult, guid: string) =>
      readUpdated(this.#sql, update(), guid),
    );
    this.#insert = db.transaction((row: Omit<OperationRow, 'seq'>) => {
      if (row.transferGroupName !== null && row.transferGroupBehavior !== null) {
        this.#sql.ensureTransferGroup.run(row.appId, row.transferGroupName, row.transferGroupBehavior);
      }
      this.#sql.insertOperation.run(row);
      return this.#sql.selectOperation.get(row.guid);
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
      this.#group?.enter();
      const inserted = this.#insert.immediate(row);
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
    const row = this.#run('getOperation', () => this.#sql.selectOperation.get(guid));
    return row === undefined ? undefined : rowToRecord(row);
  }

  listOperations(appId: string, filter: ListFilter, page?: ListPage, direction?: TransferDirection): OperationRecord[] {
    return this.#run('listOperations', () => this.#lists.records(appId, filter, page, direction)).map(rowToRecord);
  }

  listSnapshots(
    appId: string,
    filter: ListFilter,
    page?: ListPage,
    direction?: TransferDirection,
    form?: SnapshotForm,
  ): SnapshotRow[] {
    return this.#run('listSnapshots', () => this.#lists.snapshots(appId, filter, page, direction, form));
  }

  hasStatus(statuses: readonly BackgroundTransferStatus[]): boolean {
    return this.#run('hasStatus', () => this.#sql.hasStatus.get(JSON.stringify(statuses))?.found === 1);
  }

  listByStatus(statuses: readonly BackgroundTransferStatus[]): OperationRecord[] {
    const rows = this.#run('listByStatus', () => this.#sql.listByStatus.all(JSON.stringify(statuses)));
    return rows.map(rowToRecord);
  }

  moveToRunning(guid: string): OperationRecord | null {
    return this.#update('moveToRunning', guid, () => this.#sql.moveToRunning.run({ guid, now: this.#now() }));
  }

  moveToQueued(guid: string, options: RequeueOptions): OperationRecord | null {
    const notBeforeMs = toStoredTimeMs(options.notBeforeMs, 'notBeforeMs');
    const { lastError } = options;
    return this.#update('moveToQueued', guid, () =>
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
      this.#update('moveToCompleted', guid, () => this.#sql.moveToCompleted.run({ guid, now: this.#now(), ...params })),
    );
  }

  moveToFailed(guid: string, error: SerializedTransferError): OperationRecord | null {
    const errorJson = errorToJson(error);
    return this.#ended(
      this.#update('moveToFailed', guid, () => this.#sql.moveToFailed.run({ guid, now: this.#now(), errorJson })),
    );
  }

  moveToCanceled(guid: string): OperationRecord | null {
    return this.#ended(
      this.#update('moveToCanceled', guid, () => this.#sql.moveToCanceled.run({ guid, now: this.#now() })),
    );
  }

  recordProgress(guid: string, progress: ProgressUpdate): void {
    assertProgress(progress);
    const { bytesSent, bytesReceived, totalBytesToReceive } = progress;
    this.#write(
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
    return this.#update('recordResponse', guid, () =>
      this.#sql.recordResponse.run({ guid, now: this.#now(), responseJson, totalBytesToReceive }),
    );
  }

  resetReceived(guid: string): void {
    this.#write('resetReceived', () => this.#sql.resetReceived.run({ guid, now: this.#now() }), guid);
  }

  updateProperties(guid: string, patch: OperationPatch): OperationRecord | null {
    return this.#update('updateProperties', guid, () =>
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
    this.#write('upsertTransferGroup', () =>
      this.#sql.upsertTransferGroup.run(appId, group.name, group.transferBehavior),
    );
  }

  /** The persisted transfer group (R27), or undefined. Not part of OperationStore: for diagnostics and tests. */
  getTransferGroup(appId: string, name: string): TransferGroupSpec | undefined {
    const row = this.#run('getTransferGroup', () => this.#sql.selectTransferGroup.get(appId, name));
    return row === undefined ? undefined : rowToTransferGroup(appId, row);
  }

  applyEvent(guid: string, event: StatusEvent): OperationRecord | null {
    return this.#update(event, guid, () => this.#sql.statusEvents[event].run({ guid, now: this.#now() }));
  }

  setSequences(sequences: ReadonlyArray<readonly [string, number]>): void {
    const now = this.#now();
    const apply = this.#db.transaction(() => {
      for (const [guid, seq] of sequences) this.#sql.setSequence.run({ guid, now, seq });
    });
    this.#write('setSequences', () => apply.immediate());
  }

  countByStatus(appId: string): Map<BackgroundTransferStatus, number> {
    const rows = this.#run('countByStatus', () => this.#sql.countByStatus.all(appId));
    return new Map(rows.map((row) => [row.status, row.count]));
  }

  countLiveOperations(appId: string): number {
    let live = this.#live.get(appId);
    if (live === undefined) {
      live = this.#run('countLiveOperations', () => this.#sql.countLive.get(appId)?.count ?? 0);
      this.#live.set(appId, live);
    }
    return live;
  }

  liveTransferGroupNames(appId: string): Set<string> {
    return new Set(
      this.#run('liveTransferGroupNames', () => this.#sql.liveTransferGroups.all(appId)).map((row) => row.name),
    );
  }

  markInterrupted(guid: string, restart: boolean, progress?: ProgressUpdate): void {
    if (progress !== undefined) assertProgress(progress);
    const { bytesSent, bytesReceived, totalBytesToReceive } = progress ?? {
      bytesSent: 0,
      bytesReceived: 0,
      totalBytesToReceive: 0,
    };
    this.#write(
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
    this.#write(
      'recordAcknowledged',
      () => this.#sql.recordAcknowledged.run({ guid, now: this.#now(), ackOffset }),
      guid,
    );
  }

  updateExtras(guid: string, extras: OperationExtras): OperationRecord | null {
    const extrasJson = extrasToJson(extras);
    return this.#update('updateExtras', guid, () => this.#sql.updateExtras.run({ guid, now: this.#now(), extrasJson }));
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
    return this.#run('getEndpointCapability', () => this.#endpoints.get(endpoint));
  }

  listEndpointCapabilities(): Map<string, EndpointCapability> {
    return this.#run('listEndpointCapabilities', () => this.#endpoints.all());
  }

  rememberEndpointCapability(endpoint: string, capability: EndpointCapability): void {
    this.#write('rememberEndpointCapability', () => this.#endpoints.remember(endpoint, capability));
  }

  forgetEndpointCapability(endpoint: string): void {
    this.#write('forgetEndpointCapability', () => this.#endpoints.forget(endpoint));
  }

  /** Idempotent. Checkpoints the WAL into the main file as SQLite does when the last connection closes. */
  close(): void {
    if (!this.#db.open) return;
    this.#group?.commit();
    this.#db.close();
  }

  /** Runs `callback` once every write made so far is durable (at once without group commit). */
  afterCommit(callback: () => void): void {
    if (this.#group) this.#group.afterCommit(callback);
    else callback();
  }

  /** One statement outside an explicit transaction: SQLite runs it as its own (autocommit) transaction. */
  #run<T>(what: string, run: () => T): T {
    try {
      return run();
    } catch (error) {
      throw storeError(`${what} failed`, error);
    }
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

  /** A write, joining the turn's transaction with group commit. `guid`: the row it changes (its listed text goes). */
  #write<T>(what: string, run: () => T, guid?: string): T {
    try {
      if (guid !== undefined) this.#lists.forget(guid);
      this.#group?.enter();
      return run();
    } catch (error) {
      throw storeError(`${what} failed`, error);
    }
  }

  #update(what: string, guid: string, update: () => Database.RunResult): OperationRecord | null {
    let row: OperationRow | null;
    try {
      this.#lists.forget(guid);
      // In the turn's transaction a failed UPDATE undoes only itself: no savepoint (two statements) needed.
      this.#group?.enter();
      row = this.#group ? readUpdated(this.#sql, update(), guid) : this.#updateAndRead.immediate(update, guid);
    } catch (error) {
      throw storeError(`${what} failed`, error);
    }
    return row === null ? null : rowToRecord(row);
  }
}
