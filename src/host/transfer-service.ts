import type { Config } from '../core/config.ts';
import { BackgroundTransferStatus, isTerminalStatus } from '../core/enums.ts';
import { TransferError } from '../core/errors.ts';
import { JsonText, joinBetween } from '../core/json-text.ts';
import { checkDownloadUri, checkHeader, checkStartSpec } from '../core/request-checks.ts';
import type {
  CompletionTask,
  ListFilter,
  OperationChange,
  OperationSnapshot,
  OperationSpec,
  TransferDirection,
} from '../core/snapshot.ts';
import { coalesceSnapshots } from '../core/snapshot-coalesce.ts';
import { COMPACT_ROW_FORM, type RowForm } from '../core/snapshot-row.ts';
import { assertFileNameId } from '../engine/accept-spec.ts';
import type { Engine } from '../engine/engine.ts';
import type { CreatedSpool } from '../engine/spools.ts';
import type { ListCursor } from '../store/operation-record.ts';

type ByGuid = { guid: string };
/** The result of a call that only acknowledges. */
type Done = Record<string, never>;

/** Who makes a call: the app it is scoped to, and what holds the spools it asks for (its connection). */
export interface CallContext {
  appId: string;
  holder: string;
}

/** Host services that live beside the engine (completion tasks, notifications, config watch). */
export interface HostServices {
  enableCompletionGroup(appId: string, id: string, task: CompletionTask): void;
  /** Whether a service still works in the background (a completion task runs). */
  busy(): boolean;
  close(): Promise<void>;
}

/** Operations the host must stay up for: all unfinished ones except those the app paused (R62). */
const WORK_STATUSES: readonly BackgroundTransferStatus[] = Object.values(BackgroundTransferStatus).filter(
  (status) => !isTerminalStatus(status) && status !== BackgroundTransferStatus.pausedByApplication,
);

/**
 * The engine as apps see it: every call scoped to one app id, so an app sees and touches only its own
 * operations (docs/architecture.md). The transfer host serves this over its socket; the in-process
 * port calls it directly. Its app methods are those of ipc/methods.ts METHODS, by name, each taking
 * (context, params) as declared there.
 */
export class TransferService {
  readonly #engine: Engine;
  readonly #services: HostServices | undefined;
  readonly #watchers = new Map<string, Set<(snapshot: OperationSnapshot) => void>>();

  constructor(engine: Engine, services?: HostServices) {
    this.#engine = engine;
    this.#services = services;
    engine.onUpdate((snapshot) => this.#dispatch(snapshot));
  }

  get home(): string {
    return this.#engine.home;
  }

  /** Runs `callback` once every state change made so far is durable: replies and pushes wait for it. */
  afterCommit(callback: () => void): void {
    const store = this.#engine.store;
    if (store.afterCommit) store.afterCommit(callback);
    else callback();
  }

  /** The settings in force (config.json, reloaded while running). */
  get config(): Config {
    return this.#engine.config;
  }

  /**
   * Idempotent per guid: a start whose guid the same app already stored returns the stored operation.
   * A client re-sends an in-flight start after the host died; the first one may or
   * may not have been stored, and a second insert must not fail or create a duplicate.
   */
  start({ appId }: CallContext, { spec }: { spec: OperationSpec }): OperationSnapshot {
    if (spec.appId !== appId) {
      throw new TransferError('BT_ERR_INVALID_ARGUMENT', `spec.appId must be the calling app's id ${appId}`);
    }
    const existing = this.#engine.get(spec.guid);
    if (existing && existing.appId === spec.appId) return existing;
    checkStartSpec(spec);
    return this.#engine.start(spec);
  }

  /**
   * start, watched from the moment the operation is stored (a `start` with its `watchId`). What the
   * engine publishes during the start (it may launch the upload at once) is not handed on: it makes the
   * returned snapshot, which is the watch's current one (newest, flags kept); `listener` hears of every
   * later change. A client so saves the `watch` request, its reply, and the push of the current snapshot.
   * A start that throws leaves no listener.
   */
  startWatched(
    context: CallContext,
    params: { spec: OperationSpec },
    listener: (snapshot: OperationSnapshot) => void,
  ): { snapshot: OperationSnapshot; unsubscribe: () => void } {
    let starting = true;
    let published: OperationSnapshot | undefined;
    const unsubscribe = this.#subscribe(params.spec.guid, (snapshot) => {
      if (starting) published = coalesceSnapshots(published, snapshot);
      else listener(snapshot);
    });
    let snapshot: OperationSnapshot;
    try {
      snapshot = this.start(context, params);
    } catch (error) {
      unsubscribe();
      throw error;
    } finally {
      starting = false;
    }
    return { snapshot: published === undefined ? snapshot : coalesceSnapshots(snapshot, published), unsubscribe };
  }

  /**
   * An empty spool file for one stream upload of this app; the context's holder (the asking
   * connection) releases the spools it never started by going away (releaseSpoolHolder).
   */
  createSpool({ appId, holder }: CallContext, _params: Record<string, never>): CreatedSpool {
    return this.#engine.spools.create(appId, holder);
  }

  releaseSpool({ appId }: CallContext, { spoolId }: { spoolId: string }): Done {
    this.#engine.spools.release(appId, spoolId);
    return {};
  }

  /** The holder (an app's connection) went away: the spools it never started go too. */
  releaseSpoolHolder(holder: string): number {
    return this.#engine.spools.releaseHolder(holder);
  }

  /** The app's operations in one reply (older clients): the stored snapshots' text, joined. */
  list(
    { appId }: CallContext,
    { filter, direction }: { filter: ListFilter; direction?: TransferDirection | undefined },
  ): JsonText {
    const { operations } = this.#engine.listPageText(appId, filter, { after: null, limit: -1 }, direction);
    return new JsonText(joinBetween('[', operations, ']'));
  }

  /** The app's operations per status (the stored status: every transition is stored when it happens). */
  countByStatus(appId: string): Map<BackgroundTransferStatus, number> {
    return this.#engine.store.countByStatus(appId);
  }

  /**
   * One page: no snapshot object is made on the way; the reply is the rows' JSON text joined (JsonText).
   * Asked for as rows (core/snapshot-row.ts), the page names its app once and carries `rows` (rows1) or
   * `rows2`: the key says the layout, so a client reads a page without remembering what it asked for.
   */
  listPage(
    { appId }: CallContext,
    {
      filter,
      after,
      limit,
      direction,
      form,
    }: {
      filter: ListFilter;
      after: ListCursor | null;
      limit: number;
      direction?: TransferDirection | undefined;
      form?: RowForm | undefined;
    },
  ): JsonText {
    const page = this.#engine.listPageText(appId, filter, { after, limit }, direction, form ?? 'objects');
    const next = JSON.stringify(page.next);
    const rows = form === COMPACT_ROW_FORM ? 'rows2' : 'rows';
    const head = form === undefined ? '{"operations":[' : `{"appId":${JSON.stringify(appId)},"${rows}":[`;
    return new JsonText(joinBetween(head, page.operations, `],"next":${next}}`));
  }

  get({ appId }: CallContext, { guid }: ByGuid): OperationSnapshot {
    return this.#own(appId, guid);
  }

  cancel({ appId }: CallContext, { guid }: ByGuid): OperationSnapshot {
    this.#own(appId, guid);
    return this.#engine.cancel(guid);
  }

  update({ appId }: CallContext, { guid, change }: { guid: string; change: OperationChange }): OperationSnapshot {
    this.#own(appId, guid);
    if (change.setHeader) checkHeader(...change.setHeader);
    if (change.requestedUri !== undefined) checkDownloadUri(change.requestedUri);
    return this.#engine.update(guid, change);
  }

  pause({ appId }: CallContext, { guid }: ByGuid): OperationSnapshot {
    this.#own(appId, guid);
    return this.#engine.pause(guid);
  }

  resume({ appId }: CallContext, { guid }: ByGuid): OperationSnapshot {
    this.#own(appId, guid);
    return this.#engine.resume(guid);
  }

  makeCurrent({ appId }: CallContext, { guid }: ByGuid): OperationSnapshot {
    this.#own(appId, guid);
    return this.#engine.makeCurrent(guid);
  }

  /** R78–R80: the group's task runs once every member has ended. */
  enableCompletionGroup({ appId }: CallContext, { group }: { group: { id: string; task: CompletionTask } }): Done {
    if (!this.#services) throw new TransferError('BT_ERR_ILLEGAL_STATE', 'completion groups need the host services');
    // The id names the task's log file in the home.
    assertFileNameId('completion group id', group.id);
    this.#services.enableCompletionGroup(appId, group.id, group.task);
    return {};
  }

  /** BT_ERR_NOT_FOUND when the guid is unknown or belongs to another app. */
  #own(appId: string, guid: string): OperationSnapshot {
    const snapshot = this.#engine.get(guid);
    if (!snapshot || snapshot.appId !== appId)
      throw new TransferError('BT_ERR_NOT_FOUND', `no operation ${guid} for app ${appId}`);
    return snapshot;
  }

  /**
   * Current snapshot first, then changes; throws BT_ERR_NOT_FOUND for another app's guid. One engine
   * listener serves every watch, through a map by guid, so an update costs the same with 10,000 watches.
   */
  watch(appId: string, guid: string, listener: (snapshot: OperationSnapshot) => void): () => void {
    const current = this.#own(appId, guid);
    const unsubscribe = this.#subscribe(guid, listener);
    listener(current);
    return unsubscribe;
  }

  #subscribe(guid: string, listener: (snapshot: OperationSnapshot) => void): () => void {
    let listeners = this.#watchers.get(guid);
    if (!listeners) {
      listeners = new Set();
      this.#watchers.set(guid, listeners);
    }
    listeners.add(listener);
    return () => {
      const set = this.#watchers.get(guid);
      set?.delete(listener);
      if (set?.size === 0) this.#watchers.delete(guid);
    };
  }

  #dispatch(snapshot: OperationSnapshot): void {
    const listeners = this.#watchers.get(snapshot.guid);
    if (!listeners) return;
    for (const listener of [...listeners]) listener(snapshot);
  }

  /** Something is queued, running or waiting (network, cost, retry back-off), or a completion task runs. */
  hasWork(): boolean {
    // Asked every few seconds while no client is connected: an EXISTS, not every queued row read.
    return (this.#services?.busy() ?? false) || this.#engine.store.hasStatus(WORK_STATUSES);
  }

  async close(): Promise<void> {
    await this.#services?.close();
    await this.#engine.close();
  }
}
