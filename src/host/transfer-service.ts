import { TransferError } from '../core/errors.ts';
import type { ListFilter, OperationChange, OperationSnapshot, OperationSpec } from '../core/snapshot.ts';
import type { Engine } from '../engine/engine.ts';

/**
 * The engine as apps see it: every call scoped to one app id, so an app sees and touches only its own
 * operations (spec/contract.md §3). The transfer host serves this over its socket; the in-process
 * port calls it directly.
 */
export class TransferService {
  readonly #engine: Engine;

  constructor(engine: Engine) {
    this.#engine = engine;
  }

  get home(): string {
    return this.#engine.home;
  }

  start(spec: OperationSpec): OperationSnapshot {
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

  /** Current snapshot first, then changes; throws BT_ERR_NOT_FOUND for another app's guid. */
  watch(appId: string, guid: string, listener: (snapshot: OperationSnapshot) => void): () => void {
    const current = this.get(appId, guid);
    const unsubscribe = this.#engine.onUpdate((snapshot) => {
      if (snapshot.guid === guid) listener(snapshot);
    });
    listener(current);
    return unsubscribe;
  }

  close(): Promise<void> {
    return this.#engine.close();
  }
}
