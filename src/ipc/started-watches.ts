import { isTerminalStatus } from '../core/enums.ts';
import type { OperationSnapshot } from '../core/snapshot.ts';
import { coalesceSnapshots } from '../core/snapshot-coalesce.ts';
import type { Connection } from './host-connection.ts';

/**
 * A watch the host started with a `start` (hello's startWatches), not yet claimed by a `watch()` of
 * its guid: it keeps the newest snapshot (the start's reply, then pushes) for the listener to come.
 */
export interface StartedWatch {
  watchId: number;
  guid: string;
  connection: Connection;
  current: OperationSnapshot | undefined;
}

/**
 * The socket client's started watches, by watch id and by guid, until watch() claims them. A refused or
 * lost start leaves none; one nobody claims ends with its operation (the host ends it with the final
 * snapshot) or with its connection.
 */
export class StartedWatches {
  readonly #byId = new Map<number, StartedWatch>();
  readonly #byGuid = new Map<string, StartedWatch>();

  /** Before the start is sent: pushes under this watch id may come with its reply. */
  begin(watchId: number, guid: string, connection: Connection): StartedWatch {
    const started: StartedWatch = { watchId, guid, connection, current: undefined };
    this.#byId.set(watchId, started);
    this.#byGuid.set(guid, started);
    return started;
  }

  /** The start was answered with `snapshot`; pushes read with the reply, before this ran, are newer. */
  answered(started: StartedWatch, snapshot: OperationSnapshot): void {
    started.current = started.current === undefined ? snapshot : coalesceSnapshots(snapshot, started.current);
    // An ended operation has no watch on the host (nor one to claim): a watch() of it asks the host.
    if (isTerminalStatus(started.current.progress.status)) this.forget(started);
  }

  forget(started: StartedWatch): void {
    if (this.#byId.get(started.watchId) === started) this.#byId.delete(started.watchId);
    if (this.#byGuid.get(started.guid) === started) this.#byGuid.delete(started.guid);
  }

  /** The watch the start of this guid began on `connection`, once the start was answered. */
  claim(guid: string, connection: Connection | undefined): { watchId: number; current: OperationSnapshot } | undefined {
    const started = this.#byGuid.get(guid);
    if (!started || started.current === undefined || started.connection !== connection) return undefined;
    this.forget(started);
    return { watchId: started.watchId, current: started.current };
  }

  /** A push: true when it was for a started watch (kept here), false when it is for a claimed one. */
  deliver(watchId: number, snapshot: OperationSnapshot): boolean {
    const started = this.#byId.get(watchId);
    if (!started) return false;
    if (snapshot.guid !== started.guid) return true;
    started.current = coalesceSnapshots(started.current, snapshot);
    // The host ended the watch with this snapshot; a watch() from now on asks the host.
    if (isTerminalStatus(snapshot.progress.status)) this.forget(started);
    return true;
  }

  /** Their watches were the lost connection's: a watch() of those guids asks the next host. */
  dropConnection(connection: Connection): void {
    for (const started of [...this.#byId.values()]) {
      if (started.connection === connection) this.forget(started);
    }
  }
}
