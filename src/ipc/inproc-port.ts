import { type TransferError, toTransferError } from '../core/errors.ts';
import type {
  CompletionTask,
  ListFilter,
  OperationChange,
  OperationSnapshot,
  OperationSpec,
} from '../core/snapshot.ts';
import { openTransferService } from '../host/open-transfer-service.ts';
import type { TransferService } from '../host/transfer-service.ts';
import type { TransferPort } from './transfer-port.ts';

/**
 * BGTRANSFER_HOST=inproc: the engine runs inside the calling process (spec/contract.md §3). State is
 * as durable as with the host; transfers simply stop when the process exits and are recovered by the
 * next process that opens the same home (R12, R13).
 */
export class InprocPort implements TransferPort {
  readonly #service: TransferService;
  #watchers = 0;
  #keepAlive: NodeJS.Timeout | undefined;

  constructor(service: TransferService) {
    this.#service = service;
  }

  static async open(home: string): Promise<InprocPort> {
    return new InprocPort(await openTransferService(home));
  }

  get home(): string {
    return this.#service.home;
  }

  start(spec: OperationSpec): Promise<OperationSnapshot> {
    return call(() => this.#service.start(spec));
  }

  /** In-process the engine itself is the holder: its spools not started go when it closes. */
  createSpool(appId: string): Promise<{ spoolId: string; path: string }> {
    return call(() => this.#service.createSpool(appId, 'in-process'));
  }

  releaseSpool(appId: string, spoolId: string): Promise<void> {
    return call(() => this.#service.releaseSpool(appId, spoolId));
  }

  list(appId: string, filter: ListFilter): Promise<OperationSnapshot[]> {
    return call(() => this.#service.list(appId, filter));
  }

  get(appId: string, guid: string): Promise<OperationSnapshot> {
    return call(() => this.#service.get(appId, guid));
  }

  cancel(appId: string, guid: string): Promise<OperationSnapshot> {
    return call(() => this.#service.cancel(appId, guid));
  }

  update(appId: string, guid: string, change: OperationChange): Promise<OperationSnapshot> {
    return call(() => this.#service.update(appId, guid, change));
  }

  pause(appId: string, guid: string): Promise<OperationSnapshot> {
    return call(() => this.#service.pause(appId, guid));
  }

  resume(appId: string, guid: string): Promise<OperationSnapshot> {
    return call(() => this.#service.resume(appId, guid));
  }

  makeCurrent(appId: string, guid: string): Promise<OperationSnapshot> {
    return call(() => this.#service.makeCurrent(appId, guid));
  }

  enableCompletionGroup(appId: string, group: { id: string; task: CompletionTask }): Promise<void> {
    return call(() => this.#service.enableCompletionGroup(appId, group));
  }

  watch(
    appId: string,
    guid: string,
    listener: (snapshot: OperationSnapshot) => void,
    onError?: (error: TransferError) => void,
  ): () => void {
    // Deliver asynchronously, as a socket would, so callers never see a callback before watch() returns.
    let active = true;
    let unsubscribe: () => void = () => undefined;
    this.#holdOpen(+1);
    queueMicrotask(() => {
      if (!active) return;
      try {
        unsubscribe = this.#service.watch(appId, guid, (snapshot) => {
          if (active) listener(snapshot);
        });
      } catch (error) {
        onError?.(toTransferError(error));
      }
    });
    return () => {
      if (!active) return;
      active = false;
      unsubscribe();
      this.#holdOpen(-1);
    };
  }

  /**
   * While an app watches an operation (an awaited startAsync/attachAsync), the process stays alive, as
   * the host's socket keeps a SocketPort app alive: the engine's own timers are unref'd, and a retry
   * back-off must not let the process exit with the upload half done.
   */
  #holdOpen(delta: number): void {
    this.#watchers += delta;
    if (this.#watchers > 0 && !this.#keepAlive) {
      this.#keepAlive = setInterval(() => undefined, 1 << 30);
    } else if (this.#watchers === 0 && this.#keepAlive) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = undefined;
    }
  }

  close(): Promise<void> {
    clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
    return this.#service.close();
  }
}

/** Runs a synchronous service call as a promise, so the in-process port behaves like the socket one. */
async function call<T>(body: () => T): Promise<T> {
  try {
    return body();
  } catch (error) {
    throw toTransferError(error);
  }
}
