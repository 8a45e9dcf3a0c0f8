import type { TransferError } from '../core/errors.ts';
import type { OperationSnapshot } from '../core/snapshot.ts';
import type { AppMethod, ParamsOf, ResultOf } from './methods.ts';

/**
 * The one narrow seam between the API and whoever runs the transfers (the API talks to it
 * through one narrow interface from day one). In-process it is the host's TransferService itself;
 * with a transfer host it is a client of the host's socket. Every call is scoped to one app id.
 */
export interface TransferPort {
  /** The BGTRANSFER_HOME this port serves (response bodies are files under it, R46). */
  readonly home: string;
  /**
   * Runs one of the app methods of METHODS (methods.ts) for `appId`: start, createSpool, releaseSpool,
   * list, get, cancel, update, pause, resume, makeCurrent, enableCompletionGroup. Rejects with a coded
   * error (BT_ERR_NOT_FOUND for a guid of another app; bad input stores nothing).
   */
  call<M extends AppMethod>(method: M, appId: string, params: ParamsOf<M>): Promise<ResultOf<M>>;
  /**
   * The app's operations as `call('list')` gives them, a page at a time as they arrive (list-pages.ts):
   * a front end can show the first before the last has been read.
   */
  listPages(appId: string, params: ParamsOf<'list'>): AsyncIterable<OperationSnapshot[]>;
  /**
   * Calls `listener` with the operation's current snapshot, then with every change, until the returned
   * function is called. Progress arrives at a bounded rate (config progressIntervalMs).
   */
  watch(
    appId: string,
    guid: string,
    listener: (snapshot: OperationSnapshot) => void,
    /** The watch was refused (e.g. BT_ERR_NOT_FOUND, a host limit): no snapshot will come. */
    onError?: (error: TransferError) => void,
  ): () => void;
  close(): Promise<void>;
}
