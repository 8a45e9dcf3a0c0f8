import type { Config } from '../core/config.ts';
import { TransferError } from '../core/errors.ts';
import type {
  CompletionTask,
  ListFilter,
  OperationChange,
  OperationSnapshot,
  OperationSpec,
} from '../core/snapshot.ts';
import { assertFileNameId } from '../engine/accept-spec.ts';
import type { Engine } from '../engine/engine.ts';

/** Host services that live beside the engine (completion tasks, notifications, config watch). */
export interface HostServices {
  enableCompletionGroup(appId: string, id: string, task: CompletionTask): void;
  close(): Promise<void>;
}

/**
 * The engine as apps see it: every call scoped to one app id, so an app sees and touches only its own
 * operations (spec/contract.md §3). The transfer host serves this over its socket; the in-process
 * port calls it directly.
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

  /** The settings in force (config.json, reloaded while running). */
  get config(): Config {
    return this.#engine.config;
  }

  /**
   * Idempotent per guid: a start whose guid the same app already stored returns the stored operation.
   * A client re-sends an in-flight start after the host died (issue 3 item 4); the first one may or
   * may not have been stored, and a second insert must not fail or create a duplicate.
   */
  start(spec: OperationSpec): OperationSnapshot {
    const existing = this.#engine.get(spec.guid);
    if (existing && existing.appId === spec.appId) return existing;
    return this.#engine.start(spec);
  }

  list(appId: string, filter: ListFilter): OperationSnapshot[] {
    return this.#engine.list(appId, filter);
  }

  get(appId: string, guid: string): OperationSnapshot {
    const snapshot = this.#engine.get(guid);
    if (!snapshot || snapshot.appId !== appId)
      throw new TransferError('BT_ERR_NOT_FOUND', `no upload ${guid} for app ${appId}`);
    return snapshot;
  }

  cancel(appId: string, guid: string): OperationSnapshot {
    this.get(appId, guid);
    return this.#engine.cancel(guid);
  }

  update(appId: string, guid: string, change: OperationChange): OperationSnapshot {
    this.get(appId, guid);
    return this.#engine.update(guid, change);
  }

  pause(appId: string, guid: string): OperationSnapshot {
    this.get(appId, guid);
    return this.#engine.pause(guid);
  }

  resume(appId: string, guid: string): OperationSnapshot {
    this.get(appId, guid);
    return this.#engine.resume(guid);
  }

  makeCurrent(appId: string, guid: string): OperationSnapshot {
    this.get(appId, guid);
    return this.#engine.makeCurrent(guid);
  }

  /**
   * Current snapshot first, then changes; throws BT_ERR_NOT_FOUND for another app's guid. One engine
   * listener serves every watch, through a map by guid, so an update costs the same with 10,000 watches.
   */
  watch(appId: string, guid: string, listener: (snapshot: OperationSnapshot) => void): () => void {
    const current = this.get(appId, guid);
    let listeners = this.#watchers.get(guid);
    if (!listeners) {
      listeners = new Set();
      this.#watchers.set(guid, listeners);
    }
    listeners.add(listener);
    listener(current);
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

  /** R78–R80: the group's task runs once every member has ended. */
  enableCompletionGroup(appId: string, group: { id: string; task: CompletionTask }): void {
    if (!this.#services) throw new TransferError('BT_ERR_ILLEGAL_STATE', 'completion groups need the host services');
    // The id names the task's log file in the home.
    assertFileNameId('completion group id', group.id);
    this.#services.enableCompletionGroup(appId, group.id, group.task);
  }

  async close(): Promise<void> {
    await this.#services?.close();
    await this.#engine.close();
  }
}
