import { EventEmitter } from 'node:events';
import { mkdirSync, readFileSync } from 'node:fs';
import type { Dispatcher } from 'undici';
import type { Config } from '../core/config.ts';
import { BackgroundTransferStatus } from '../core/enums.ts';
import { TransferError, toTransferError } from '../core/errors.ts';
import { withHeader, withoutHeader } from '../core/header-list.ts';
import type { Logger } from '../core/logger.ts';
import { homeLayout, responseBodyPath } from '../core/paths.ts';
import type {
  ListFilter,
  OperationChange,
  OperationPatch,
  OperationSnapshot,
  OperationSpec,
} from '../core/snapshot.ts';
import { createDispatcher } from '../net/dispatcher.ts';
import { inspectSourceFile } from '../source/file-source.ts';
import type { OperationStore } from '../store/operation-store.ts';
import { HomeLock } from './home-lock.ts';
import { LiveTransfer, toSnapshot } from './live-transfer.ts';
import { pickReady } from './queue-order.ts';
import { recoverInterrupted } from './recovery.ts';
import { decideRetry, type RetryPolicy } from './retry-policy.ts';
import { runAttempt } from './run-attempt.ts';

export interface EngineOptions {
  home: string;
  config: Config;
  openStore(path: string): OperationStore;
  logger: Logger;
  /** Injected for tests; defaults to Date.now / Math.random. */
  now?: () => number;
  random?: () => number;
}

type EngineEvents = { update: [OperationSnapshot] };

/** How often running operations' counters are written to the store (they restart from 0 anyway, R38). */
const PERSIST_INTERVAL_MS = 1_000;
/** The longest a retry waits, whatever the back-off or Retry-After says. */
const MAX_RETRY_DELAY_MS = 10 * 60_000;

/**
 * The transfer engine: owns the store, runs queued operations up to the concurrency limit, turns each
 * attempt's outcome into a named state transition, and publishes snapshots. It knows nothing of apps
 * or sockets; host/ scopes it per app and ipc/ carries it.
 */
export class Engine {
  readonly home: string;
  readonly #store: OperationStore;
  readonly #lock: HomeLock;
  readonly #events = new EventEmitter<EngineEvents>();
  readonly #running = new Map<string, LiveTransfer>();
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #random: () => number;
  #config: Config;
  #dispatcher: Dispatcher;
  #ticker: NodeJS.Timeout | undefined;
  #wakeTimer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(options: EngineOptions, lock: HomeLock, store: OperationStore, extraCa: string[]) {
    this.home = options.home;
    this.#lock = lock;
    this.#store = store;
    this.#config = options.config;
    this.#log = options.logger;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#dispatcher = createDispatcher({
      connectTimeoutMs: options.config.connectTimeoutMs,
      extraCaCertificates: extraCa,
    });
    this.#events.setMaxListeners(0);
  }

  /** Takes the home lock, opens the store, recovers what a previous process left running, starts queued work. */
  static open(options: EngineOptions): Engine {
    const layout = homeLayout(options.home);
    // Everything that can fail on bad settings happens before the lock and the store are taken.
    const extraCa = readCaFiles(options.config.extraCaCertificates);
    const lock = HomeLock.acquire(layout.lock, layout.home);
    let store: OperationStore;
    try {
      mkdirSync(layout.responses, { recursive: true, mode: 0o700 });
      store = options.openStore(layout.database);
    } catch (error) {
      lock.release();
      throw error;
    }
    const engine = new Engine(options, lock, store, extraCa);
    const recovered = recoverInterrupted(store);
    if (recovered.restarted + recovered.terminated > 0) options.logger.info(recovered, 'recovered interrupted uploads');
    engine.#schedule();
    return engine;
  }

  get config(): Config {
    return this.#config;
  }

  /** Validates the source again (it may have changed since createUpload), stores the operation and queues it. */
  start(spec: OperationSpec): OperationSnapshot {
    this.#assertOpen();
    const source = inspectSourceFile(spec.sourcePath);
    if (spec.transferGroup) this.#store.upsertTransferGroup(spec.appId, spec.transferGroup);
    const record = this.#store.insertOperation({
      ...spec,
      sourceSize: source.size,
      sourceMtimeMs: source.mtimeMs,
      sourceIno: source.ino,
      createdAtMs: this.#now(),
    });
    this.#log.debug({ guid: record.guid, method: record.method }, 'queued');
    const snapshot = toSnapshot(record);
    this.#events.emit('update', snapshot);
    this.#schedule();
    return snapshot;
  }

  get(guid: string): OperationSnapshot | undefined {
    const live = this.#running.get(guid);
    if (live) return { ...toSnapshot(live.record), progress: { ...this.#liveProgress(live) } };
    const record = this.#store.getOperation(guid);
    return record && toSnapshot(record);
  }

  list(appId: string, filter: ListFilter): OperationSnapshot[] {
    return this.#store.listOperations(appId, filter).map((record) => this.get(record.guid) ?? toSnapshot(record));
  }

  /** R59/R60: cancels the transfer itself. Returns the final snapshot, or the current one if it had already ended. */
  cancel(guid: string): OperationSnapshot {
    this.#assertOpen();
    const record = this.#store.moveToCanceled(guid);
    if (!record) return this.#require(guid);
    this.#running.get(guid)?.controller.abort(new TransferError('BT_ERR_CANCELED', `upload ${guid} was canceled`));
    this.#publishRecord(record);
    this.#schedule();
    return toSnapshot(record);
  }

  /** R52 (cost policy takes effect at once), R31 (priority reorders the queue), R64 (headers for the next request). */
  update(guid: string, change: OperationChange): OperationSnapshot {
    this.#assertOpen();
    const current = this.#store.getOperation(guid);
    if (!current) throw new TransferError('BT_ERR_NOT_FOUND', `no upload ${guid}`);
    const patch: OperationPatch = {};
    if (change.costPolicy !== undefined) patch.costPolicy = change.costPolicy;
    if (change.priority !== undefined) patch.priority = change.priority;
    if (change.setHeader || change.removeHeader !== undefined) {
      let headers = current.headers;
      if (change.removeHeader !== undefined) headers = withoutHeader(headers, change.removeHeader);
      if (change.setHeader) headers = withHeader(headers, change.setHeader[0], change.setHeader[1]);
      patch.headers = headers;
    }
    const record = this.#store.updateProperties(guid, patch);
    if (!record) {
      this.#require(guid);
      throw new TransferError('BT_ERR_ILLEGAL_STATE', `upload ${guid} has ended; its properties can no longer change`);
    }
    const live = this.#running.get(guid);
    if (live) live.record = record;
    this.#publishRecord(record);
    this.#schedule();
    return toSnapshot(record);
  }

  onUpdate(listener: (snapshot: OperationSnapshot) => void): () => void {
    this.#events.on('update', listener);
    return () => this.#events.off('update', listener);
  }

  /**
   * Stops every request without changing the stored state: running operations stay "running" and are
   * recovered by the next engine (PUT restarted, POST terminated: R12, R13).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#ticker);
    clearTimeout(this.#wakeTimer);
    const shutdown = new TransferError('BT_ERR_INTERNAL', 'engine is shutting down');
    const pending = [...this.#running.values()].map((live) => {
      live.controller.abort(shutdown);
      return live.done;
    });
    await Promise.allSettled(pending);
    this.#store.close();
    await this.#dispatcher.close().catch(() => undefined);
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

  #liveProgress(live: LiveTransfer): OperationSnapshot['progress'] {
    return {
      ...live.record.progress,
      bytesSent: live.bytesSent,
      bytesReceived: live.bytesReceived,
      totalBytesToReceive: live.totalBytesToReceive,
    };
  }

  /**
   * Publishes a stored record (a status change outside a running request). R38/R39 flags belong to the
   * first notification *of a request*, which the live path publishes, so they are false here.
   */
  #publishRecord(record: NonNullable<ReturnType<OperationStore['getOperation']>>): void {
    const snapshot = toSnapshot(record);
    snapshot.progress = { ...snapshot.progress, hasRestarted: false, hasResponseChanged: false };
    this.#events.emit('update', snapshot);
  }

  #publishLive(live: LiveTransfer): void {
    this.#events.emit('update', live.takeSnapshot());
  }

  /** Starts queued operations while slots are free; wakes itself for the next retry back-off. */
  #schedule(): void {
    if (this.#closed) return;
    clearTimeout(this.#wakeTimer);
    this.#wakeTimer = undefined;
    const slots = this.#config.maxConcurrentTransfers - this.#running.size;
    const queued = this.#store.listByStatus([BackgroundTransferStatus.idle]);
    const { ready, nextWakeMs } = pickReady(queued, slots, this.#now());
    for (const record of ready) this.#launch(record.guid);
    if (nextWakeMs !== undefined) {
      this.#wakeTimer = setTimeout(() => this.#schedule(), Math.max(0, nextWakeMs - this.#now()));
      this.#wakeTimer.unref();
    }
  }

  #launch(guid: string): void {
    const record = this.#store.moveToRunning(guid);
    if (!record) return;
    const live = new LiveTransfer(record);
    this.#running.set(guid, live);
    this.#publishLive(live);
    this.#ensureTicker();
    live.done = this.#runToOutcome(live).finally(() => {
      this.#running.delete(guid);
      if (this.#running.size === 0) {
        clearInterval(this.#ticker);
        this.#ticker = undefined;
      }
      this.#schedule();
    });
  }

  /** Publishes running operations' progress at most every progressIntervalMs (bounded push rate). */
  #ensureTicker(): void {
    if (this.#ticker) return;
    this.#ticker = setInterval(() => {
      const now = this.#now();
      for (const live of this.#running.values()) {
        if (live.dirty || live.hasRestarted || live.hasResponseChanged) this.#publishLive(live);
        if (now - live.lastPersistMs >= PERSIST_INTERVAL_MS) this.#persistProgress(live, now);
      }
    }, this.#config.progressIntervalMs);
    this.#ticker.unref();
  }

  #persistProgress(live: LiveTransfer, now: number): void {
    live.lastPersistMs = now;
    this.#store.recordProgress(live.record.guid, {
      bytesSent: live.bytesSent,
      bytesReceived: live.bytesReceived,
      totalBytesToReceive: live.totalBytesToReceive,
    });
  }

  async #runToOutcome(live: LiveTransfer): Promise<void> {
    const guid = live.record.guid;
    const outcome = await runAttempt({
      live,
      store: this.#store,
      dispatcher: this.#dispatcher,
      config: this.#config,
      responseBodyPath: responseBodyPath(this.home, guid),
      onResponse: () => this.#publishLive(live),
    });
    if (live.controller.signal.aborted) {
      // Canceled (the store already says so) or the engine is closing (state stays as it is).
      return;
    }
    this.#persistProgress(live, this.#now());
    try {
      this.#settle(live, outcome);
    } catch (error) {
      this.#log.error({ guid, err: error }, 'could not record the outcome of an attempt');
    }
  }

  #retryPolicy(): RetryPolicy {
    return {
      maxAttempts: this.#config.maxAttempts,
      retryBaseDelayMs: this.#config.retryBaseDelayMs,
      maxDelayMs: MAX_RETRY_DELAY_MS,
    };
  }

  #settle(live: LiveTransfer, outcome: Awaited<ReturnType<typeof runAttempt>>): void {
    const guid = live.record.guid;
    if (outcome.kind === 'completed') {
      const record = this.#store.moveToCompleted(guid);
      if (record) this.#publishRecord(record);
      return;
    }
    const error = toTransferError(outcome.error);
    const attemptsMade = live.record.attempts + 1;
    const decision = decideRetry(error, attemptsMade, this.#retryPolicy(), outcome.retryAfterMs, this.#random());
    if (decision.kind === 'retry') {
      this.#log.info({ guid, code: error.code, delayMs: decision.delayMs, attemptsMade }, 'retrying upload');
      const record = this.#store.moveToQueued(guid, {
        restart: true,
        countAttempt: true,
        notBeforeMs: this.#now() + decision.delayMs,
        lastError: error.toJSON(),
      });
      if (record) this.#publishRecord(record);
      return;
    }
    this.#log.info({ guid, code: error.code }, 'upload failed');
    const record = this.#store.moveToFailed(guid, error.toJSON());
    if (record) this.#publishRecord(record);
  }
}

function readCaFiles(paths: readonly string[]): string[] {
  return paths.map((path) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      throw new TransferError('BT_ERR_CONFIG_INVALID', `config: extraCaCertificates: cannot read ${path}`, {
        cause: error,
      });
    }
  });
}
