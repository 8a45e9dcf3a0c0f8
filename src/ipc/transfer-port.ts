import type { TransferError } from '../core/errors.ts';
import type {
  CompletionTask,
  ListFilter,
  OperationChange,
  OperationSnapshot,
  OperationSpec,
} from '../core/snapshot.ts';

/**
 * The one narrow seam between the API and whoever runs the transfers (issue 2: "the API talks to it
 * through one narrow interface from day one"). In-process it is the host's TransferService itself;
 * with a transfer host it is a client of the host's socket. Every call is scoped to one app id.
 */
export interface TransferPort {
  /** The BGTRANSFER_HOME this port serves (response bodies are files under it, R46). */
  readonly home: string;
  /** Persists and queues a new operation. Rejects with a coded error for bad input (nothing is stored then). */
  start(spec: OperationSpec): Promise<OperationSnapshot>;
  /**
   * An empty file the engine created for one stream upload of `appId`: the app writes the stream into
   * `path` and starts the upload with `spoolId`. Released when the port closes unless started.
   */
  createSpool(appId: string): Promise<{ spoolId: string; path: string }>;
  /** The app gave up on a spool (spooling failed); unknown ids are ignored. */
  releaseSpool(appId: string, spoolId: string): Promise<void>;
  list(appId: string, filter: ListFilter): Promise<OperationSnapshot[]>;
  /** BT_ERR_NOT_FOUND when the guid is unknown or belongs to another app. */
  get(appId: string, guid: string): Promise<OperationSnapshot>;
  cancel(appId: string, guid: string): Promise<OperationSnapshot>;
  update(appId: string, guid: string, change: OperationChange): Promise<OperationSnapshot>;
  /** Beyond Windows: pausedByApplication, survives restarts. */
  pause(appId: string, guid: string): Promise<OperationSnapshot>;
  resume(appId: string, guid: string): Promise<OperationSnapshot>;
  /** R32. */
  makeCurrent(appId: string, guid: string): Promise<OperationSnapshot>;
  /** R78–R80: records the group with its task and enables it; the task runs once every member ended. */
  enableCompletionGroup(appId: string, group: { id: string; task: CompletionTask }): Promise<void>;
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
