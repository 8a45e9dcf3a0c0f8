import {
  BackgroundTransferCostPolicy,
  BackgroundTransferPriority,
  BackgroundTransferStatus,
  isTerminalStatus,
} from '../core/enums.ts';
import { TransferError } from '../core/errors.ts';
import { withHeader, withoutHeader } from '../core/header-list.ts';
import type { Logger } from '../core/logger.ts';
import type { OperationChange, OperationSnapshot, OperationSpec, ProgressSnapshot } from '../core/snapshot.ts';
import type { TransferPort } from '../ipc/transfer-port.ts';
import type { BackgroundTransferCompletionGroup } from './background-transfer-completion-group.ts';
import { BackgroundTransferGroup } from './background-transfer-group.ts';
import { getPort } from './port-provider.ts';
import { ResponseInformation } from './response-information.ts';
import { TransferPromise } from './transfer-promise.ts';
import { Uri } from './uri.ts';
import { validateEnumValue, validateHeader } from './validation.ts';

/** Only a ref'd handle is needed, not its firing; any period under setInterval's maximum will do. */
const KEEP_ALIVE_INTERVAL_MS = 1_000_000;

export type Lifecycle =
  /** made by createUpload/createDownload, not started: its spec lives only here */
  | { kind: 'created'; spec: OperationSpec }
  /** startAsync is persisting it */
  | { kind: 'starting'; started: Promise<TransferPort> }
  /** stored by the engine (started here, or enumerated) */
  | { kind: 'stored'; port: TransferPort };

/**
 * What UploadOperation and DownloadOperation share: a handle on one operation whose state lives with the
 * engine. It keeps the latest snapshot it was sent, so the synchronous getters (progress, R34) work, and
 * runs the lifecycle (created → starting → stored), the transfer promise and property changes.
 * `Self` is the concrete class, which the transfer promise resolves with.
 */
export abstract class TransferOperation<Self> {
  readonly #appId: string;
  readonly #noun: 'upload' | 'download';
  readonly #log: Logger | undefined;
  #lifecycle: Lifecycle;
  #snapshot: OperationSnapshot;
  #response: { version: number; info: ResponseInformation } | undefined;
  /** This object already showed hasRestarted for the current request (R38). */
  #restartShown = false;
  /** R78: the completion group of the uploader that created it (its enable() waits for our start). */
  #completionGroup: BackgroundTransferCompletionGroup | null = null;
  /**
   * Property changes made after start, applied in order; none until the first (an enumeration of 10,000
   * operations makes no promise per operation).
   */
  #changes: Promise<unknown> | undefined;

  /** Only the two operation classes construct one (R1: operations come from a transfer object or an enumeration). */
  protected constructor(snapshot: OperationSnapshot, lifecycle: Lifecycle, noun: 'upload' | 'download', log?: Logger) {
    this.#appId = snapshot.appId;
    this.#snapshot = snapshot;
    this.#lifecycle = lifecycle;
    this.#noun = noun;
    this.#log = log;
  }

  /** The latest snapshot (the subclasses' own getters read it). */
  protected get snapshot(): OperationSnapshot {
    return this.#snapshot;
  }

  /** The port of a stored operation; undefined before it was stored. */
  protected get storedPort(): TransferPort | undefined {
    return this.#lifecycle.kind === 'stored' ? this.#lifecycle.port : undefined;
  }

  /** The spec a created, not yet started operation would store; undefined once started. */
  protected get createdSpec(): OperationSpec | undefined {
    return this.#lifecycle.kind === 'created' ? this.#lifecycle.spec : undefined;
  }

  /** R78: the completion group of the transfer object that created it. */
  protected set completionGroup(group: BackgroundTransferCompletionGroup | null) {
    this.#completionGroup = group;
  }

  /** Unique, stable for the operation's whole life, across restarts (R19). */
  get guid(): string {
    return this.#snapshot.guid;
  }
  get method(): string {
    return this.#snapshot.method;
  }
  get requestedUri(): Uri {
    return new Uri(this.#snapshot.requestedUri);
  }
  /** Legacy string group (R23). */
  get group(): string | null {
    return this.#snapshot.group;
  }
  get transferGroup(): BackgroundTransferGroup | null {
    return this.#snapshot.transferGroup && BackgroundTransferGroup.fromSpec(this.#snapshot.transferGroup);
  }
  /** A copy of the latest progress (R34: take one copy per handler call). */
  protected get currentProgress(): ProgressSnapshot {
    return { ...this.#snapshot.progress };
  }

  get costPolicy(): BackgroundTransferCostPolicy {
    return this.#snapshot.costPolicy;
  }
  /** R52: takes effect for a running operation at once. */
  set costPolicy(value: BackgroundTransferCostPolicy) {
    const costPolicy = validateEnumValue('costPolicy', value, BackgroundTransferCostPolicy);
    this.#snapshot = { ...this.#snapshot, costPolicy };
    this.change({ costPolicy }, (spec) => ({ ...spec, costPolicy }));
  }

  get priority(): BackgroundTransferPriority {
    return this.#snapshot.priority;
  }
  /** R31: a queued operation is reordered. */
  set priority(value: BackgroundTransferPriority) {
    const priority = validateEnumValue('priority', value, BackgroundTransferPriority);
    this.#snapshot = { ...this.#snapshot, priority };
    this.change({ priority }, (spec) => ({ ...spec, priority }));
  }

  /** R64: applies to the requests that follow. R63: a repeat joins the values. */
  setRequestHeader(headerName: string, headerValue: string): void {
    const header = validateHeader(headerName, headerValue);
    this.change({ setHeader: header }, (spec) => ({ ...spec, headers: withHeader(spec.headers, ...header) }));
  }

  removeRequestHeader(headerName: string): void {
    const name = String(headerName);
    this.change({ removeHeader: name }, (spec) => ({ ...spec, headers: withoutHeader(spec.headers, name) }));
  }

  /**
   * R41–R43: the latest server response; null before any response, or when none came (e.g. the
   * connection failed). The same object until a new response arrives.
   */
  getResponseInformation(): ResponseInformation | null {
    const { response, responseVersion } = this.#snapshot;
    if (!response) return null;
    if (this.#response?.version !== responseVersion) {
      this.#response = { version: responseVersion, info: new ResponseInformation(response) };
    }
    return this.#response.info;
  }

  /**
   * R32: this operation and the ones after it in its transfer group go to the front of the group; in a
   * Serialized group it runs next. No effect for an operation in no group.
   */
  makeCurrentInTransferGroup(): void {
    if (!this.#snapshot.transferGroup) return;
    void this.#afterStart((port) => port.call('makeCurrent', this.#appId, { guid: this.guid })).catch(() => undefined);
  }

  /**
   * Beyond Windows for uploads (R62): stops the transfer and records pausedByApplication, which survives restarts of
   * the app and the host. Rejects with BT_ERR_ILLEGAL_STATE for an operation not started or ended.
   */
  pause(): Promise<void> {
    return this.#afterStart((port) => port.call('pause', this.#appId, { guid: this.guid }));
  }

  /** Continues a paused operation: from where the protocol allows (a download: its partial file), else from 0. */
  resume(): Promise<void> {
    return this.#afterStart((port) => port.call('resume', this.#appId, { guid: this.guid }));
  }

  async #afterStart(call: (port: TransferPort) => Promise<OperationSnapshot>): Promise<void> {
    const lifecycle = this.#lifecycle;
    if (lifecycle.kind === 'created') {
      throw new TransferError('BT_ERR_ILLEGAL_STATE', `${this.#noun} ${this.guid} was not started: use startAsync()`);
    }
    const port = lifecycle.kind === 'stored' ? lifecycle.port : await lifecycle.started;
    await this.#changes;
    this.#apply(await call(port));
  }

  /**
   * Starts the operation (R2). Fails with BT_ERR_ILLEGAL_STATE for an operation that was already started
   * or came from an enumeration: use attachAsync (R3). The returned promise's `queued` resolves once
   * the engine has stored the operation; the process stays alive until then even if nothing awaits it.
   * Only `process.exit()` before `queued` resolved can lose it.
   */
  startAsync(): TransferPromise<Self, Self> {
    const lifecycle = this.#lifecycle;
    if (lifecycle.kind !== 'created') {
      return this.#failed(
        new TransferError(
          'BT_ERR_ILLEGAL_STATE',
          `${this.#noun} ${this.guid} was already started: use attachAsync() (R3)`,
        ),
      );
    }
    // A ref'd timer until the start is acknowledged: an app that calls startAsync() and lets its event
    // loop end must not exit while the spec is still on its way to the engine (the port's own handles
    // may be unref'd between steps, e.g. while a host is being spawned).
    const keepAlive = setInterval(() => undefined, KEEP_ALIVE_INTERVAL_MS);
    const started = getPort()
      .then(async (port) => {
        const snapshot = await port.call('start', lifecycle.spec.appId, { spec: lifecycle.spec });
        this.#snapshot = snapshot;
        this.#lifecycle = { kind: 'stored', port };
        return port;
      })
      .finally(() => clearInterval(keepAlive));
    this.#lifecycle = { kind: 'starting', started };
    this.#completionGroup?.trackStart(started);
    started.catch(() => {
      // Nothing was stored (bad input, host unreachable): the operation can be started again.
      this.#lifecycle = lifecycle;
    });
    return this.#observe(started);
  }

  /** Monitors an operation started earlier, in this process or a previous one (R3, R10, R11). */
  attachAsync(): TransferPromise<Self, Self> {
    const lifecycle = this.#lifecycle;
    if (lifecycle.kind === 'created') {
      return this.#failed(
        new TransferError('BT_ERR_ILLEGAL_STATE', `${this.#noun} ${this.guid} was not started: use startAsync()`),
      );
    }
    return this.#observe(lifecycle.kind === 'starting' ? lifecycle.started : Promise.resolve(lifecycle.port));
  }

  /**
   * R38: the engine marks every notification of a restarted request; this object shows hasRestarted in
   * the first one it receives and false afterwards (also for an app that attached mid-request).
   */
  #apply(snapshot: OperationSnapshot): void {
    let hasRestarted = false;
    if (snapshot.progress.hasRestarted) {
      hasRestarted = !this.#restartShown;
      this.#restartShown = true;
    } else {
      this.#restartShown = false;
    }
    // R39, R41: new response information is flagged in the first notification this object receives
    // after the response changed (responseVersion), whoever else saw it first.
    const hasResponseChanged = snapshot.responseVersion > this.#snapshot.responseVersion;
    this.#snapshot = { ...snapshot, progress: { ...snapshot.progress, hasRestarted, hasResponseChanged } };
  }

  /** Watches the stored operation until it ends; progress handlers see every report (R4). */
  #observe(ready: Promise<TransferPort>): TransferPromise<Self, Self> {
    const handlers = new Set<(operation: Self) => void>();
    let cancelRequested = false;
    let portForCancel: TransferPort | undefined;
    const promise = ready.then(
      (port) =>
        new Promise<Self>((resolve, reject) => {
          portForCancel = port;
          if (cancelRequested) this.#requestCancel(port);
          const stop = port.watch(
            this.#appId,
            this.guid,
            (snapshot) => {
              this.#apply(snapshot);
              const status = snapshot.progress.status;
              if (!isTerminalStatus(status)) {
                for (const handler of handlers) this.#callProgress(handler);
                return;
              }
              stop();
              if (status === BackgroundTransferStatus.completed) resolve(this.#self());
              else if (status === BackgroundTransferStatus.canceled) {
                reject(new TransferError('BT_ERR_CANCELED', `${this.#noun} ${this.guid} was canceled`));
              } else {
                reject(
                  snapshot.error
                    ? TransferError.fromJSON(snapshot.error)
                    : new TransferError('BT_ERR_INTERNAL', 'failed'),
                );
              }
            },
            // The host refused the watch (the operation is gone, a limit): no snapshot will settle it.
            (error) => reject(error),
          );
        }),
    );
    // The transfer goes on whether or not anyone awaits it: an unobserved failure must not crash the app.
    promise.catch(() => undefined);
    const queued = ready.then(() => this.#self());
    queued.catch(() => undefined);
    return new TransferPromise(promise, {
      queued,
      addProgressHandler: (handler) => handlers.add(handler as (operation: Self) => void),
      cancel: () => {
        cancelRequested = true;
        if (portForCancel) this.#requestCancel(portForCancel);
      },
    });
  }

  #callProgress(handler: (operation: Self) => void): void {
    try {
      handler(this.#self());
    } catch (error) {
      // An app's progress handler that throws must not stop the transfer or other handlers.
      this.#log?.warn({ guid: this.guid, err: error }, 'progress handler threw');
    }
  }

  /** `this` as the concrete class: every subclass passes itself as Self (class X extends TransferOperation<X>). */
  #self(): Self {
    return this as unknown as Self;
  }

  #requestCancel(port: TransferPort): void {
    port.call('cancel', this.#appId, { guid: this.guid }).catch(() => undefined);
  }

  #failed(error: TransferError): TransferPromise<Self, Self> {
    const promise = Promise.reject(error);
    promise.catch(() => undefined);
    return new TransferPromise<Self, Self>(promise, {
      queued: promise,
      addProgressHandler: () => undefined,
      cancel: () => undefined,
    });
  }

  /** Before start the change edits the spec; after, it goes to the engine, in order. */
  protected change(change: OperationChange, editSpec: (spec: OperationSpec) => OperationSpec): void {
    const lifecycle = this.#lifecycle;
    if (lifecycle.kind === 'created') {
      this.#lifecycle = { kind: 'created', spec: editSpec(lifecycle.spec) };
      return;
    }
    const port = lifecycle.kind === 'stored' ? Promise.resolve(lifecycle.port) : lifecycle.started;
    this.#changes = (this.#changes ?? Promise.resolve())
      .then(() => port)
      .then((ready) => ready.call('update', this.#appId, { guid: this.guid, change }))
      .then((snapshot) => this.#apply(snapshot))
      .catch((error: unknown) => {
        // A setter cannot throw later; a change to an operation that has ended is moot.
        this.#log?.info({ guid: this.guid, err: error }, 'change not applied');
      });
  }
}
