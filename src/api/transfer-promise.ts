/**
 * What startAsync()/attachAsync() return: IAsyncOperationWithProgress in the JavaScript projection
 * (R4, R59). Awaitable; `then(onComplete, onError, onProgress)` takes a third, progress callback;
 * `cancel()` — on this promise and on every promise `then` returns — cancels the transfer itself, not
 * only the local observation (R60).
 *
 * `queued` resolves once the engine has durably stored the operation (at once for attachAsync), and
 * rejects with the coded error when nothing was stored. Until then the library keeps the event loop
 * alive, so an app that calls startAsync() and simply returns does not lose the upload. The one way
 * to lose it is `process.exit()` before `queued` resolved: await `queued` first.
 */
export interface TransferControl<P> {
  addProgressHandler(handler: (progress: P) => void): void;
  cancel(): void;
  /** Settles once the operation is stored (resolves) or certainly not (rejects). */
  queued: Promise<P>;
}

export class TransferPromise<T, P = T> implements PromiseLike<T> {
  readonly #promise: Promise<T>;
  readonly #control: TransferControl<P>;

  constructor(promise: Promise<T>, control: TransferControl<P>) {
    this.#promise = promise;
    this.#control = control;
  }

  // biome-ignore lint/suspicious/noThenProperty: a thenable is the point — WinJS promises are awaited and chained.
  then<R1 = T, R2 = never>(
    onComplete?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onError?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
    onProgress?: ((progress: P) => void) | null,
  ): TransferPromise<R1 | R2, P> {
    if (typeof onProgress === 'function') this.#control.addProgressHandler(onProgress);
    return new TransferPromise(this.#promise.then(onComplete, onError), this.#control);
  }

  catch<R = never>(onError?: ((reason: unknown) => R | PromiseLike<R>) | null): TransferPromise<T | R, P> {
    return new TransferPromise(this.#promise.catch(onError), this.#control);
  }

  finally(onFinally?: (() => void) | null): TransferPromise<T, P> {
    return new TransferPromise(this.#promise.finally(onFinally), this.#control);
  }

  /** Resolves once the engine has stored the operation durably; rejects if nothing was stored. */
  get queued(): Promise<P> {
    return this.#control.queued;
  }

  /** WinJS-style progress subscription without completion handlers. */
  progress(onProgress: (progress: P) => void): this {
    this.#control.addProgressHandler(onProgress);
    return this;
  }

  /** R59/R60: cancels the transfer; the promise then rejects with BT_ERR_CANCELED. */
  cancel(): void {
    this.#control.cancel();
  }

  get [Symbol.toStringTag](): string {
    return 'TransferPromise';
  }
}
