import { type TransferError, toTransferError } from '../core/errors.ts';
import { JsonText } from '../core/json-text.ts';
import type { OperationSnapshot } from '../core/snapshot.ts';
import { openTransferService } from '../host/open-transfer-service.ts';
import type { TransferService } from '../host/transfer-service.ts';
import { invoke } from './invoke-method.ts';
import { listPages } from './list-pages.ts';
import type { AppMethod, ParamsOf, ResultOf, ValidParamsOf } from './methods.ts';
import type { TransferPort } from './transfer-port.ts';

/**
 * BGTRANSFER_HOST=inproc: the engine runs inside the calling process (docs/architecture.md). State is
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

  call<M extends AppMethod>(method: M, appId: string, params: ParamsOf<M>): Promise<ResultOf<M>> {
    // In-process the engine itself is the holder of the spools: those not started go when it closes.
    // The params are the caller's own (typed), not a stranger's frame, so they are not re-validated;
    // the result is the service's, whose types METHODS mirrors (the socket client checks them on read).
    const valid = params as ValidParamsOf<M>;
    return run(() => {
      const result = invoke(this.#service, method, { appId, holder: 'in-process' }, valid);
      // An enumeration comes as the text a socket client would read; its snapshots are the store's own.
      return (result instanceof JsonText ? JSON.parse(result.text) : result) as ResultOf<M>;
    });
  }

  listPages(appId: string, params: ParamsOf<'list'>): AsyncGenerator<OperationSnapshot[], void, undefined> {
    return listPages(
      { page: (page) => this.call('listPage', appId, page), whole: (whole) => this.call('list', appId, whole) },
      params,
    );
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
async function run<T>(body: () => T): Promise<T> {
  try {
    return body();
  } catch (error) {
    throw toTransferError(error);
  }
}
