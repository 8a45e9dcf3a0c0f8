import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { Config } from '../core/config.ts';
import { BackgroundTransferBehavior, isTerminalStatus, BackgroundTransferStatus as S } from '../core/enums.ts';
import { TransferError } from '../core/errors.ts';
import { withHeader, withoutHeader } from '../core/header-list.ts';
import { guardHome, guardHomeEntry } from '../core/home-guard.ts';
import { HomeLock } from '../core/home-lock.ts';
import type { Logger } from '../core/logger.ts';
import type { OperationExtras } from '../core/operation-extras.ts';
import { homeLayout } from '../core/paths.ts';
import type {
  ListFilter,
  OperationChange,
  OperationPatch,
  OperationSnapshot,
  OperationSpec,
  TransferDirection,
} from '../core/snapshot.ts';
import { type SnapshotForm, toSnapshotRow } from '../core/snapshot-row.ts';
import type { ListCursor, ListPage, OperationRecord, SnapshotRow } from '../store/operation-record.ts';
import type { OperationStore } from '../store/operation-store.ts';
import { acceptSpec } from './accept-spec.ts';
import { inspectBody } from './body-factory.ts';
import { readCaFiles } from './ca-files.ts';
import { DispatcherPool, type PoolSettings } from './dispatcher-pool.ts';
import { downloadUri, withDownloadSession } from './download-spec.ts';
import { checkLimits } from './limits.ts';
import { toSnapshot } from './live-transfer.ts';
import { ALWAYS_CONNECTED, type NetworkStateSource } from './network-gate.ts';
import { rotateGroup } from './ready-queue.ts';
import { recoverInterrupted } from './recovery.ts';
import { Scheduler, type UpdateListener } from './scheduler.ts';
import { SpoolRegistry, storedExtras, UNFINISHED, unfinishedSpoolPaths } from './spools.ts';
import { terminateSession } from './terminate-session.ts';

export interface EngineOptions {
  home: string;
  config: Config;
  openStore(path: string): OperationStore;
  logger: Logger;
  /** Connectivity and metered state (R50, R53); default: always connected, unmetered. */
  network?: NetworkStateSource;
  /** Injected for tests; defaults to Date.now / Math.random. */
  now?: () => number;
  random?: () => number;
}

/**
 * The transfer engine: owns the store, runs queued operations up to the concurrency limit while the
 * network allows (scheduler.ts), turns each attempt's outcome into a named state transition, and
 * publishes snapshots. It knows nothing of apps or sockets; host/ scopes it per app and ipc/ carries it.
 */
export class Engine {
  readonly home: string;
  readonly #store: OperationStore;
  readonly #lock: HomeLock;
  readonly #scheduler: Scheduler;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #dispatchers: DispatcherPool;
  readonly #spools: SpoolRegistry;
  #closed = false;

  private constructor(options: EngineOptions, lock: HomeLock, store: OperationStore, extraCa: string[]) {
    this.home = options.home;
    this.#lock = lock;
    this.#store = store;
    this.#log = options.logger;
    this.#now = options.now ?? Date.now;
    this.#dispatchers = new DispatcherPool(poolSettings(options.config, extraCa));
    this.#spools = new SpoolRegistry(homeLayout(options.home).spool);
    this.#scheduler = new Scheduler({
      home: options.home,
      store,
      dispatchers: this.#dispatchers,
      network: options.network ?? ALWAYS_CONNECTED,
      config: options.config,
      extraCa,
      logger: options.logger,
      now: this.#now,
      random: options.random ?? Math.random,
    });
  }

  /** Takes the home lock, opens the store, recovers what a previous process left running, starts queued work. */
  static open(options: EngineOptions): Engine {
    const layout = homeLayout(options.home);
    // Everything that can fail on bad settings happens before the lock and the store are taken.
    const extraCa = readCaFiles(options.config.extraCaCertificates);
    guardHome(layout.home);
    const lock = HomeLock.acquire(layout.lock, layout.home);
    let store: OperationStore;
    try {
      guardHomeEntry(layout.responses, 'directory', 'the response directory');
      mkdirSync(layout.responses, { recursive: true, mode: 0o700 });
      store = options.openStore(layout.database);
    } catch (error) {
      lock.release();
      throw error;
    }
    const engine = new Engine(options, lock, store, extraCa);
    const recovered = recoverInterrupted(store, options.home);
    for (const record of store.listByStatus([S.idle])) engine.#scheduler.enqueue(record);
    const reaped = engine.#spools.reapOrphans(unfinishedSpoolPaths(store.listByStatus(UNFINISHED)));
    if (reaped.length > 0) options.logger.info({ files: reaped.length }, 'removed spool files no upload owns');
    if (Object.values(recovered).some((count) => count > 0)) {
      options.logger.info(recovered, 'recovered interrupted uploads');
    }
    engine.#scheduler.applyNetworkState();
    return engine;
  }

  get config(): Config {
    return this.#scheduler.config;
  }

  /** The store, for host-level services (completion groups) that run beside the engine. */
  get store(): OperationStore {
    return this.#store;
  }

  /**
   * Settings changed (config.json edited, `bgtransfer config`): a running host applies them without a
   * restart (docs/api/config.md). New connections use the new timeouts/CAs; running requests finish
   * on the old dispatcher.
   */
  setConfig(config: Config): void {
    const extraCa = readCaFiles(config.extraCaCertificates);
    // Attempts in flight keep the dispatcher they started with; it is closed once none runs.
    this.#dispatchers.reconfigure(poolSettings(config, extraCa));
    this.#scheduler.setConfig(config, extraCa);
  }

  /** Checks and measures the body now (it may have changed since createUpload), stores the operation, queues it. */
  start(given: OperationSpec): OperationSnapshot {
    this.#assertOpen();
    const spec = acceptSpec(given);
    const extras = withIdempotencyKey(
      spec,
      withDownloadSession(spec, storedExtras(spec.appId, spec.extras, this.#spools)),
    );
    const measured = inspectBody(spec.sourcePath, extras.body);
    checkLimits(this.#store, this.config, spec);
    if (spec.transferGroup) this.#store.upsertTransferGroup(spec.appId, spec.transferGroup);
    const record = this.#store.insertOperation({
      ...spec,
      extras: { ...extras, body: measured.body },
      sourceSize: measured.size,
      sourceMtimeMs: measured.mtimeMs,
      sourceIno: measured.ino,
      createdAtMs: this.#now(),
    });
    if (spec.extras?.body.kind === 'stream') this.#spools.adopt(spec.extras.body.spoolId);
    this.#log.debug({ guid: record.guid, method: record.method }, 'queued');
    this.#scheduler.publishRecord(record);
    this.#scheduler.schedule();
    return toSnapshot(record);
  }

  /** The spool files of stream uploads (spools.ts): created for an app, adopted by its operation. */
  get spools(): SpoolRegistry {
    return this.#spools;
  }

  get(guid: string): OperationSnapshot | undefined {
    const live = this.#scheduler.live(guid);
    if (live) return live.peekSnapshot();
    const record = this.#scheduler.queued(guid) ?? this.#store.getOperation(guid);
    return record && toSnapshot(record);
  }

  /** The stored record with the engine's fields (host services: completion groups, notifications). */
  getRecord(guid: string): OperationRecord | undefined {
    return this.#store.getOperation(guid);
  }

  list(appId: string, filter: ListFilter, direction?: TransferDirection): OperationSnapshot[] {
    return this.listPage(appId, filter, { after: null, limit: -1 }, direction).operations;
  }

  /** One page of list(): `next` is where the following page starts, null after the last one. */
  listPage(
    appId: string,
    filter: ListFilter,
    page: ListPage,
    direction?: TransferDirection,
  ): { operations: OperationSnapshot[]; next: ListCursor | null } {
    const records = this.#store.listOperations(appId, filter, page, direction);
    const last = records.at(-1);
    return {
      operations: records.map((record) => this.#scheduler.live(record.guid)?.peekSnapshot() ?? toSnapshot(record)),
      next: last && page.limit >= 0 && records.length === page.limit ? { seq: last.seq, guid: last.guid } : null,
    };
  }

  /**
   * listPage with each snapshot as JSON text, for the host's replies: the store builds the text (or it
   * is made from records, for a store without listSnapshots); a running operation's is its live snapshot.
   * `form`: snapshot objects, or rows (core/snapshot-row.ts).
   */
  listPageText(
    appId: string,
    filter: ListFilter,
    page: ListPage,
    direction?: TransferDirection,
    form: SnapshotForm = 'objects',
  ): { operations: string[]; next: ListCursor | null } {
    const text = (snapshot: OperationSnapshot): string =>
      JSON.stringify(form === 'objects' ? snapshot : toSnapshotRow(snapshot, form));
    const rows =
      this.#store.listSnapshots?.(appId, filter, page, direction, form) ??
      this.#store
        .listOperations(appId, filter, page, direction)
        .map((record): SnapshotRow => [record.guid, record.seq, text(toSnapshot(record))]);
    const last = rows.at(-1);
    return {
      operations: rows.map(([guid, , json]) => {
        const live = this.#scheduler.live(guid);
        return live ? text(live.peekSnapshot()) : json;
      }),
      next: last && page.limit >= 0 && rows.length === page.limit ? { seq: last[1], guid: last[0] } : null,
    };
  }

  /** R59/R60: cancels the transfer itself. Returns the final snapshot, or the current one if it had already ended. */
  cancel(guid: string): OperationSnapshot {
    this.#assertOpen();
    const record = this.#store.moveToCanceled(guid);
    if (!record) return this.#require(guid);
    this.#scheduler.stop(guid, 'cancel');
    terminateSession(record, this.#dispatchers, this.config.responseTimeoutMs, this.#log);
    this.#scheduler.publishRecord(record);
    this.#scheduler.schedule();
    return toSnapshot(record);
  }

  /**
   * Beyond Windows (R62 has no upload pause): stops the transfer and records pausedByApplication, which
   * survives restarts. Pausing a paused operation is a no-op; a finished one is BT_ERR_ILLEGAL_STATE.
   */
  pause(guid: string): OperationSnapshot {
    this.#assertOpen();
    const current = this.#require(guid);
    if (current.progress.status === S.pausedByApplication) return current;
    const record = this.#store.applyEvent(guid, 'pause');
    if (!record) throw new TransferError('BT_ERR_ILLEGAL_STATE', `upload ${guid} has ended and cannot be paused`);
    this.#scheduler.stop(guid, 'pause');
    this.#scheduler.publishRecord(record);
    this.#scheduler.schedule();
    return toSnapshot(record);
  }

  /** Queues a paused operation again; it continues from the server's offset where the protocol allows, else restarts. */
  resume(guid: string): OperationSnapshot {
    this.#assertOpen();
    const current = this.#require(guid);
    const paused = current.progress.status === S.pausedByApplication;
    if (!paused && current.progress.status !== S.pausedRecoverableWebErrorStatus) {
      if (
        current.progress.status === S.completed ||
        current.progress.status === S.canceled ||
        current.progress.status === S.error
      ) {
        throw new TransferError('BT_ERR_ILLEGAL_STATE', `upload ${guid} has ended and cannot be resumed`);
      }
      return current;
    }
    const record = this.#store.applyEvent(guid, 'resume');
    if (!record) return this.#require(guid);
    this.#scheduler.publishRecord(record);
    this.#scheduler.schedule();
    return toSnapshot(record);
  }

  /**
   * R32: this operation and the ones after it in its transfer group move to the front of the group
   * (the group's queue positions are rotated among its members). In a Serialized group a member that
   * is running instead is stopped and queued again, so the chosen one runs next. No effect when the
   * operation is in no transfer group or has ended.
   */
  makeCurrent(guid: string): OperationSnapshot {
    this.#assertOpen();
    const record = this.#store.getOperation(guid);
    if (!record) throw new TransferError('BT_ERR_NOT_FOUND', `no upload ${guid}`);
    const group = record.transferGroup;
    if (!group || isTerminalStatus(record.progress.status)) return toSnapshot(record);
    const members = this.#store
      .listOperations(record.appId, { kind: 'transferGroup', name: group.name })
      .filter((member) => !isTerminalStatus(member.progress.status));
    const sequences = rotateGroup(members, guid);
    this.#store.setSequences(sequences);
    for (const [memberGuid] of sequences) {
      const updated = this.#store.getOperation(memberGuid);
      if (updated?.progress.status === S.idle) this.#scheduler.enqueue(updated);
    }
    if (group.transferBehavior === BackgroundTransferBehavior.serialized) {
      for (const member of members) {
        if (member.guid !== guid && this.#scheduler.live(member.guid)) this.#scheduler.stop(member.guid, 'preempt');
      }
    }
    this.#scheduler.schedule();
    return this.get(guid) ?? toSnapshot(record);
  }

  /** R52 (cost policy takes effect at once), R31 (priority reorders the queue), R64 (headers for the next request). */
  update(guid: string, change: OperationChange): OperationSnapshot {
    this.#assertOpen();
    const current = this.#store.getOperation(guid);
    if (!current) throw new TransferError('BT_ERR_NOT_FOUND', `no upload ${guid}`);
    const patch: OperationPatch = {};
    if (change.costPolicy !== undefined) patch.costPolicy = change.costPolicy;
    if (change.priority !== undefined) patch.priority = change.priority;
    if (change.requestedUri !== undefined) patch.requestedUri = downloadUri(current, change.requestedUri);
    if (change.setHeader || change.removeHeader !== undefined) {
      let headers = current.headers;
      if (change.removeHeader !== undefined) headers = withoutHeader(headers, change.removeHeader);
      if (change.setHeader) headers = withHeader(headers, change.setHeader[0], change.setHeader[1]);
      patch.headers = headers;
    }
    let record = this.#store.updateProperties(guid, patch);
    if (!record) {
      throw new TransferError('BT_ERR_ILLEGAL_STATE', `upload ${guid} has ended; its properties can no longer change`);
    }
    if (change.recoverableWebErrorStatuses !== undefined) {
      // Stored before the running attempt ends, so its outcome is judged by the new list.
      const statuses = [...change.recoverableWebErrorStatuses];
      record = this.#store.updateExtras(guid, { ...record.extras, recoverableWebErrorStatuses: statuses }) ?? record;
    }
    const live = this.#scheduler.live(guid);
    if (live) live.record = record;
    this.#scheduler.publishRecord(record);
    if (change.costPolicy !== undefined) this.#scheduler.applyGate(record);
    this.#scheduler.schedule();
    return this.get(guid) ?? toSnapshot(record);
  }

  onUpdate(listener: UpdateListener): () => void {
    return this.#scheduler.onUpdate(listener);
  }

  /**
   * Stops every request without changing the stored state: running operations stay "running" and are
   * recovered by the next engine (resumed, or PUT restarted and POST terminated: R12, R13).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#scheduler.close();
    this.#spools.releaseAll();
    this.#store.close();
    await this.#dispatchers.close();
    this.#lock.release();
  }

  #assertOpen(): void {
    if (this.#closed) throw new TransferError('BT_ERR_ILLEGAL_STATE', 'the transfer engine is closed');
  }

  #require(guid: string): OperationSnapshot {
    const snapshot = this.get(guid);
    if (!snapshot) throw new TransferError('BT_ERR_NOT_FOUND', `no upload ${guid}`);
    return snapshot;
  }
}

/**
 * An upload's Idempotency-Key (docs/delivery-guarantees.md, rule 4) is made with the operation and
 * stored by its insert: made at the first request instead, it cost a store write per upload. A
 * resumable protocol never sends it.
 */
function withIdempotencyKey(spec: OperationSpec, extras: OperationExtras): OperationExtras {
  return spec.download || extras.idempotencyKey !== null ? extras : { ...extras, idempotencyKey: randomUUID() };
}

function poolSettings(config: Config, extraCaCertificates: string[]): PoolSettings {
  return { connectTimeoutMs: config.connectTimeoutMs, extraCaCertificates, proxy: config.proxy };
}
