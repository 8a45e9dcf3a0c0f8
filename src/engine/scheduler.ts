import { EventEmitter } from 'node:events';
import type { Config } from '../core/config.ts';
import { isTerminalStatus, BackgroundTransferStatus as S } from '../core/enums.ts';
import type { Logger } from '../core/logger.ts';
import { responseBodyPath } from '../core/paths.ts';
import type { OperationSnapshot } from '../core/snapshot.ts';
import { removeSpool } from '../source/stream-spool.ts';
import type { OperationRecord, ProgressUpdate } from '../store/operation-record.ts';
import type { OperationStore } from '../store/operation-store.ts';
import type { DispatcherPool } from './dispatcher-pool.ts';
import { runDownloadAttempt } from './download-attempt.ts';
import { LiveTransfer, type StopReason, toSnapshot } from './live-transfer.ts';
import { gateEvent, type NetworkStateSource, networkGate } from './network-gate.ts';
import { type OutcomeContext, recordOutcome, recordStop } from './outcome-transitions.ts';
import { type QueueEntry, queueEntry, ReadyQueue } from './ready-queue.ts';
import { runAttempt } from './run-attempt.ts';
import { discardDownloadPartial } from './run-download.ts';

type SchedulerEvents = { update: [snapshot: OperationSnapshot, record?: OperationRecord] };

/** How often running operations' counters are written to the store. */
const PERSIST_INTERVAL_MS = 1_000;
/** The longest a retry waits, whatever the back-off or Retry-After says. */
const MAX_RETRY_DELAY_MS = 10 * 60_000;

export interface SchedulerOptions {
  home: string;
  store: OperationStore;
  dispatchers: DispatcherPool;
  network: NetworkStateSource;
  config: Config;
  extraCa: string[];
  logger: Logger;
  now: () => number;
  random: () => number;
}

/** A listener of Scheduler.onUpdate (and Engine.onUpdate). */
export type UpdateListener = (snapshot: OperationSnapshot, record?: OperationRecord) => void;

/**
 * The running half of the engine: keeps the queue of ready operations in step with the store, starts
 * them up to the concurrency limit while the network allows, publishes their progress, and turns each
 * attempt's outcome into a stored state transition. The engine's public operations change the store
 * and then hand over to it.
 */
export class Scheduler {
  readonly home: string;
  readonly #store: OperationStore;
  readonly #events = new EventEmitter<SchedulerEvents>();
  readonly #running = new Map<string, LiveTransfer>();
  /** Queued (idle) operations in scheduling order; kept in step with the store by publishRecord. */
  readonly #queue = new ReadyQueue();
  /**
   * The stored record of each queued operation, kept with its queue entry: an app watches an upload
   * right after starting it, mostly while it waits in the queue, and the engine answers from here
   * instead of reading and mapping its row again.
   */
  readonly #queuedRecords = new Map<string, OperationRecord>();
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #network: NetworkStateSource;
  readonly #stopWatchingNetwork: () => void;
  readonly #dispatchers: DispatcherPool;
  #config: Config;
  #extraCa: string[];
  #ticker: NodeJS.Timeout | undefined;
  #wakeTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** false until the network source's first reading is in: nothing is judged or started before that. */
  #networkKnown: boolean;

  constructor(options: SchedulerOptions) {
    this.home = options.home;
    this.#store = options.store;
    this.#config = options.config;
    this.#extraCa = options.extraCa;
    this.#log = options.logger;
    this.#now = options.now;
    this.#random = options.random;
    this.#network = options.network;
    this.#dispatchers = options.dispatchers;
    this.#events.setMaxListeners(0);
    this.#stopWatchingNetwork = this.#network.onChange(() => this.applyNetworkState());
    this.#networkKnown = this.#network.settled === undefined;
    void this.#network.settled?.then(() => {
      this.#networkKnown = true;
      this.applyNetworkState();
    });
  }

  get config(): Config {
    return this.#config;
  }

  /** New settings: the ticker restarts at the new interval, and the concurrency limit applies at once. */
  setConfig(config: Config, extraCa: string[]): void {
    this.#config = config;
    this.#extraCa = extraCa;
    this.#closeRetiredWhenIdle();
    if (this.#ticker) {
      clearInterval(this.#ticker);
      this.#ticker = undefined;
      if (this.#running.size > 0) this.#ensureTicker();
    }
    this.schedule();
  }

  #closeRetiredWhenIdle(): void {
    if (this.#running.size === 0) this.#dispatchers.closeRetired();
  }

  /** The request running for this operation, if one is (it may be winding down after a stop). */
  live(guid: string): LiveTransfer | undefined {
    return this.#running.get(guid);
  }

  /** Puts an idle operation in the queue (or moves it to its new place there). */
  enqueue(record: OperationRecord): void {
    this.#queue.upsert(queueEntry(record));
    this.#queuedRecords.set(record.guid, record);
  }

  /** The stored record of a queued operation (not a copy: the caller must not change it). */
  queued(guid: string): OperationRecord | undefined {
    return this.#queuedRecords.get(guid);
  }

  #dequeue(guid: string): void {
    this.#queue.remove(guid);
    this.#queuedRecords.delete(guid);
  }

  /**
   * Every published change. `record` is the stored record it was published from (a status change);
   * absent for a running request's progress. Listeners must not change it.
   */
  onUpdate(listener: UpdateListener): () => void {
    this.#events.on('update', listener);
    return () => this.#events.off('update', listener);
  }

  /** Stops every running request and waits for each to wind down; nothing starts after this. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stopWatchingNetwork();
    clearInterval(this.#ticker);
    clearTimeout(this.#wakeTimer);
    const pending = [...this.#running.keys()].map((guid) => {
      this.stop(guid, 'shutdown');
      return this.#running.get(guid)?.done;
    });
    await Promise.allSettled(pending);
  }

  /**
   * Publishes a stored record (a status change outside a running request). R38/R39 flags belong to the
   * first notification *of a request*, which the live path publishes, so they are false here.
   * `partialRemoved`: an ended download's partial file is already gone (not removed again).
   */
  publishRecord(record: OperationRecord, partialRemoved = false): void {
    // A request still winding down (stopped, aborting) must not report the status it had before.
    const live = this.#running.get(record.guid);
    if (live) live.record = record;
    if (record.progress.status === S.idle) this.enqueue(record);
    else this.#dequeue(record.guid);
    // A spooled stream is cleaned up when its operation ends.
    if (isTerminalStatus(record.progress.status) && record.extras.body.kind === 'stream') {
      void removeSpool(record.extras.body.spoolPath).catch(() => undefined);
    }
    // An ended download that did not complete leaves no partial file behind (cancel, final error). Here
    // in the background: a cancelled request may still be closing it (and removes it again itself).
    if (!partialRemoved && isTerminalStatus(record.progress.status) && record.progress.status !== S.completed) {
      void discardDownloadPartial(record, this.#log);
    }
    // While a request runs (or winds down after a stop) its counters are newer than the stored ones:
    // a property change or a pause must not show a download's progress going back.
    const snapshot = live && !live.ended ? live.peekSnapshot() : toSnapshot(record);
    snapshot.progress = { ...snapshot.progress, hasRestarted: false, hasResponseChanged: false };
    // The record goes along, so that a listener needing its engine fields (an ended operation's
    // completion group and notifications) does not read the row just written back from the store.
    this.#events.emit('update', snapshot, record);
  }

  #publishLive(live: LiveTransfer): void {
    this.#events.emit('update', live.takeSnapshot());
  }

  stop(guid: string, reason: StopReason): void {
    this.#running.get(guid)?.stop(reason);
  }

  // ---- network (R50, R52–R54) ----

  /** Moves one live operation to where the network says it belongs: waiting, or back in the queue. */
  applyGate(record: OperationRecord): void {
    const status = record.progress.status;
    const event = gateEvent(networkGate(record.costPolicy, this.#network.current()), status);
    const updated = event && this.#store.applyEvent(record.guid, event);
    if (!updated) return;
    if (status === S.running) this.stop(record.guid, 'network');
    this.publishRecord(updated);
  }

  /** Re-judges every live operation after a connectivity or metered change, then schedules. */
  applyNetworkState(): void {
    if (this.#closed || !this.#networkKnown) return;
    const live = this.#store.listByStatus([S.idle, S.running, S.pausedNoNetwork, S.pausedCostedNetwork]);
    for (const record of live) this.applyGate(record);
    this.schedule();
  }

  // ---- scheduling ----

  /**
   * Starts queued operations while slots are free and the network allows; at most one operation of a
   * Serialized transfer group runs at a time (R30); wakes itself for the next retry back-off.
   */
  schedule(): void {
    if (this.#closed || !this.#networkKnown) return;
    clearTimeout(this.#wakeTimer);
    this.#wakeTimer = undefined;
    const slots = this.#config.maxConcurrentTransfers - this.#running.size;
    if (slots <= 0) return;
    const busyGroups = new Set<string>();
    for (const live of this.#running.values()) {
      const group = queueEntry(live.record).serializedGroup;
      if (group) busyGroups.add(group);
    }
    const network = this.#network.current();
    const blocked: string[] = [];
    const { ready, nextWakeMs } = this.#queue.pick(slots, this.#now(), (entry: QueueEntry, picked) => {
      // Its previous request is still winding down (paused and resumed at once): it starts when that ends.
      if (this.#running.has(entry.guid)) return false;
      if (networkGate(entry.costPolicy as OperationRecord['costPolicy'], network) !== 'allowed') {
        blocked.push(entry.guid);
        return false;
      }
      const group = entry.serializedGroup;
      return group === null || (!busyGroups.has(group) && !picked.some((other) => other.serializedGroup === group));
    });
    for (const guid of blocked) {
      const record = this.#store.getOperation(guid);
      if (record) this.applyGate(record);
    }
    for (const entry of ready) this.#launch(entry.guid);
    if (nextWakeMs !== undefined) {
      this.#wakeTimer = setTimeout(() => this.schedule(), Math.max(0, nextWakeMs - this.#now()));
      this.#wakeTimer.unref();
    }
  }

  #launch(guid: string): boolean {
    this.#dequeue(guid);
    const record = this.#store.moveToRunning(guid);
    if (!record) return false;
    const live = new LiveTransfer(record);
    // Counters are written a PERSIST_INTERVAL_MS after the start, not at the first tick: a request
    // shorter than that stores its counters once, with its outcome.
    live.lastPersistMs = this.#now();
    this.#running.set(guid, live);
    this.#publishLive(live);
    this.#ensureTicker();
    live.done = this.#runToOutcome(live).finally(() => {
      if (this.#running.get(guid) === live) this.#running.delete(guid);
      if (this.#running.size === 0) {
        clearInterval(this.#ticker);
        this.#ticker = undefined;
        this.#closeRetiredWhenIdle();
      }
      this.schedule();
    });
    return true;
  }

  /** Publishes running operations' progress at most every progressIntervalMs (bounded push rate). */
  #ensureTicker(): void {
    if (this.#ticker) return;
    this.#ticker = setInterval(() => {
      const now = this.#now();
      for (const live of this.#running.values()) {
        if (live.dirty || live.hasResponseChanged) this.#publishLive(live);
        if (now - live.lastPersistMs >= PERSIST_INTERVAL_MS) this.#persistProgress(live, now);
      }
    }, this.#config.progressIntervalMs);
    this.#ticker.unref();
  }

  #persistProgress(live: LiveTransfer, now: number): void {
    live.lastPersistMs = now;
    this.#store.recordProgress(live.record.guid, progressOf(live));
  }

  // ---- attempts ----

  async #runToOutcome(live: LiveTransfer): Promise<void> {
    const guid = live.record.guid;
    const ackAtStart = live.record.ackOffset;
    // A download's attempt is its own (download-attempt.ts); uploads go through the protocols of run-attempt.ts.
    const run = live.record.direction === 'download' ? runDownloadAttempt : runAttempt;
    const outcome = await run({
      live,
      store: this.#store,
      dispatcher: this.#dispatchers.get(live.record.extras),
      config: this.#config,
      responseBodyPath: responseBodyPath(this.home, guid),
      extraCaCertificates: this.#extraCa,
      onResponse: () => this.#publishLive(live),
      onRestarted: () => this.#publishLive(live),
    });
    live.ended = true;
    try {
      if (live.stopReason !== null) {
        // A completed request's digest is kept whatever happens next (run-attempt.ts).
        if (outcome.kind === 'completed' && outcome.extras) this.#store.updateExtras(guid, outcome.extras);
        const record = recordStop(this.#store, guid, live.stopReason, progressOf(live));
        if (record) this.publishRecord(record);
        return;
      }
      live.lastPersistMs = this.#now();
      const record = recordOutcome(this.#outcomeContext(), guid, outcome, ackAtStart, progressOf(live));
      if (!record) return;
      // A download that failed for good: its request has closed the partial file, so it is removed
      // before the app hears of the end, which then finds nothing left behind (docs/downloads.md).
      const failed = record.progress.status === S.error;
      if (failed) await discardDownloadPartial(record, this.#log);
      this.publishRecord(record, failed);
    } catch (error) {
      this.#log.error({ guid, err: error }, 'could not record the outcome of an attempt');
    }
  }

  #outcomeContext(): OutcomeContext {
    return {
      store: this.#store,
      retryPolicy: {
        maxAttempts: this.#config.maxAttempts,
        retryBaseDelayMs: this.#config.retryBaseDelayMs,
        maxDelayMs: MAX_RETRY_DELAY_MS,
      },
      connected: () => this.#network.current().connected,
      now: this.#now,
      random: this.#random,
      log: this.#log,
    };
  }
}

function progressOf(live: LiveTransfer): ProgressUpdate {
  return {
    bytesSent: live.bytesSent,
    bytesReceived: live.bytesReceived,
    totalBytesToReceive: live.totalBytesToReceive,
  };
}
