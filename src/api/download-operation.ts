import type { Readable } from 'node:stream';
import { DEFAULT_REQUEST_EXTRAS } from '../core/default-extras.ts';
import { partialPathOf } from '../core/download-paths.ts';
import type { WebErrorStatus } from '../core/enums.ts';
import { TransferError } from '../core/errors.ts';
import { checkExpectedDigest } from '../core/expected-digest.ts';
import type { Logger } from '../core/logger.ts';
import { checkDownloadUri } from '../core/request-checks.ts';
import type { OperationSnapshot, OperationSpec, ProgressSnapshot } from '../core/snapshot.ts';
import type { TransferPort } from '../ipc/transfer-port.ts';
import type { BackgroundTransferCompletionGroup } from './background-transfer-completion-group.ts';
import { createdSnapshot } from './created-snapshot.ts';
import { openDownloadStream } from './download-result-stream.ts';
import { StorageFile } from './storage-file.ts';
import { type Lifecycle, TransferOperation } from './transfer-operation.ts';
import type { TransferPromise } from './transfer-promise.ts';
import type { Uri } from './uri.ts';
import { type UriLike, validateUri } from './validation.ts';
import { watchedStatuses } from './watched-statuses.ts';

/** Guards the constructor: operations come only from a downloader or an enumeration (R1). */
const CREATE = Symbol('DownloadOperation.create');

/** BackgroundDownloadProgress: the download's side of the progress snapshot. */
export type BackgroundDownloadProgress = Pick<
  ProgressSnapshot,
  'bytesReceived' | 'totalBytesToReceive' | 'status' | 'hasResponseChanged' | 'hasRestarted'
>;

/**
 * DownloadOperation (docs/downloads.md): a handle on one download, with the lifecycle, transfer promise
 * and property changes of UploadOperation (transfer-operation.ts). The result file holds the body only
 * once the download completed; until then the bytes are in a partial file beside it.
 */
export class DownloadOperation extends TransferOperation<DownloadOperation> {
  /**
   * Windows' RecoverableWebErrorStatuses: an error with one of these statuses pauses the download
   * (pausedRecoverableWebErrorStatus) instead of failing it; the app can then set a new requestedUri
   * and resume(). Filled before startAsync() it goes with the start; changed after, the new list goes
   * to the engine (the next error is judged by it). A value that is no WebErrorStatus throws
   * BT_ERR_INVALID_ARGUMENT.
   */
  readonly recoverableWebErrorStatuses: WebErrorStatus[] = watchedStatuses([], () => this.#statusesChanged());
  #statusesPending = false;

  /** @internal */
  constructor(token: typeof CREATE, snapshot: OperationSnapshot, lifecycle: Lifecycle, log?: Logger) {
    if (token !== CREATE) {
      throw new TransferError(
        'BT_ERR_ILLEGAL_STATE',
        'DownloadOperation has no public constructor: use BackgroundDownloader (R1)',
      );
    }
    super(snapshot, lifecycle, 'download', log);
    // An enumerated download reports what its app chose (kept with the stored operation).
    this.#storedRandomAccess = snapshot.isRandomAccessRequired ?? false;
    this.#storedDigest = snapshot.expectedContentDigest ?? null;
    this.#statusesPending = true; // the copy below is not a change to send
    this.recoverableWebErrorStatuses.push(...((snapshot.recoverableWebErrorStatuses ?? []) as WebErrorStatus[]));
    this.#statusesPending = false;
  }

  /** The list changed: once the download started, send the whole new list (once per turn of the loop). */
  #statusesChanged(): void {
    if (this.#statusesPending) return;
    this.#statusesPending = true;
    queueMicrotask(() => {
      this.#statusesPending = false;
      if (this.createdSpec !== undefined) return; // startAsync() sends the list with the start
      this.change({ recoverableWebErrorStatuses: [...this.recoverableWebErrorStatuses] }, (spec) => spec);
    });
  }

  /** @internal An operation createDownload made (not started). */
  static fromSpec(
    spec: OperationSpec,
    totalBytesToSend: number,
    completionGroup: BackgroundTransferCompletionGroup | null = null,
  ): DownloadOperation {
    const operation = new DownloadOperation(CREATE, createdSnapshot(spec, totalBytesToSend), { kind: 'created', spec });
    operation.completionGroup = completionGroup;
    return operation;
  }

  /** @internal What startAsync would store (the CLI's `download --detach` starts through the port itself). */
  static specOf(operation: DownloadOperation): OperationSpec {
    const spec = operation.createdSpec;
    if (spec === undefined) {
      throw new TransferError('BT_ERR_ILLEGAL_STATE', `download ${operation.guid} was already started`);
    }
    return spec;
  }

  /** @internal An operation the engine already stores (enumeration, R3: attach, don't start). */
  static fromSnapshot(snapshot: OperationSnapshot, port: TransferPort): DownloadOperation {
    return new DownloadOperation(CREATE, snapshot, { kind: 'stored', port });
  }

  /** @internal An enumeration's operations, sharing one lifecycle (it is replaced, never changed). */
  static fromSnapshots(snapshots: readonly OperationSnapshot[], port: TransferPort): DownloadOperation[] {
    const lifecycle: Lifecycle = { kind: 'stored', port };
    return snapshots.map((snapshot) => new DownloadOperation(CREATE, snapshot, lifecycle));
  }

  override get requestedUri(): Uri {
    return super.requestedUri;
  }
  /**
   * Writable for downloads: an app replaces an expired signed URL, and the next request uses it (a
   * running request goes on with the old one). http, https, ftp or ftps.
   */
  override set requestedUri(value: UriLike) {
    const requestedUri = checkDownloadUri(validateUri(value).href).href;
    this.change({ requestedUri }, (spec) => ({ ...spec, requestedUri }));
  }

  /** The file the body ends up in (it need not exist before the download completes). */
  get resultFile(): StorageFile {
    return StorageFile.fromPath(this.#resultPath());
  }

  /** Starts the download (R2), with the recoverable statuses the app listed. */
  override startAsync(): TransferPromise<DownloadOperation, DownloadOperation> {
    const statuses = [...this.recoverableWebErrorStatuses];
    if (this.createdSpec !== undefined && statuses.length > 0) {
      this.change({}, (spec) => ({
        ...spec,
        extras: { ...(spec.extras ?? DEFAULT_REQUEST_EXTRAS), recoverableWebErrorStatuses: statuses },
      }));
    }
    return super.startAsync();
  }

  /** A copy of the latest progress (R34). */
  get progress(): BackgroundDownloadProgress {
    const { bytesReceived, totalBytesToReceive, status, hasResponseChanged, hasRestarted } = this.currentProgress;
    return { bytesReceived, totalBytesToReceive, status, hasResponseChanged, hasRestarted };
  }

  /**
   * Whether the app reads the result while it downloads (getResultStreamAt). Settable before
   * startAsync; stored with the operation.
   */
  get isRandomAccessRequired(): boolean {
    return this.createdSpec?.extras?.isRandomAccessRequired ?? this.#storedRandomAccess;
  }
  set isRandomAccessRequired(value: boolean) {
    if (typeof value !== 'boolean') {
      throw new TransferError(
        'BT_ERR_INVALID_ARGUMENT',
        `isRandomAccessRequired must be true or false; got ${String(value)}`,
      );
    }
    const spec = this.createdSpec;
    if (spec === undefined) {
      throw new TransferError(
        'BT_ERR_ILLEGAL_STATE',
        `download ${this.guid} was already started: set isRandomAccessRequired before startAsync()`,
      );
    }
    this.change({}, (current) => ({
      ...current,
      extras: { ...(current.extras ?? DEFAULT_REQUEST_EXTRAS), isRandomAccessRequired: value },
    }));
    this.#storedRandomAccess = value;
  }
  #storedRandomAccess = false;

  /**
   * The app's own digest of the body, RFC 9530 form: `sha-256=:<base64>:` or `sha-512=:<base64>:`
   * (docs/downloads.md, "Digests"). The download completes only if the file has it; otherwise it fails
   * with BT_ERR_DIGEST_MISMATCH, the partial file is discarded and the result file is left as it was.
   * Settable before startAsync; stored with the operation. null: no digest of the app's.
   */
  get expectedContentDigest(): string | null {
    const spec = this.createdSpec;
    return spec ? (spec.extras?.expectedContentDigest ?? null) : this.#storedDigest;
  }
  set expectedContentDigest(value: string | null) {
    const digest = value === null ? null : checkExpectedDigest(value);
    if (this.createdSpec === undefined) {
      throw new TransferError(
        'BT_ERR_ILLEGAL_STATE',
        `download ${this.guid} was already started: set expectedContentDigest before startAsync()`,
      );
    }
    this.change({}, (current) => ({
      ...current,
      extras: { ...(current.extras ?? DEFAULT_REQUEST_EXTRAS), expectedContentDigest: digest },
    }));
  }
  #storedDigest: string | null = null;

  /** The WebErrorStatus of the download's current error, or null while it has none. */
  get currentWebErrorStatus(): WebErrorStatus | null {
    const error = this.snapshot.error;
    return error ? TransferError.fromJSON(error).webErrorStatus : null;
  }

  /**
   * The downloaded body from `position` (docs/downloads.md, "Random access"): while the download runs
   * it reads the partial file, and a read beyond what arrived waits for the bytes; once completed it
   * reads the result file. Fails with BT_ERR_ILLEGAL_STATE before startAsync.
   */
  getResultStreamAt(position = 0): Readable {
    if (!Number.isSafeInteger(position) || position < 0) {
      throw new TransferError('BT_ERR_INVALID_ARGUMENT', `position must be a non-negative integer, got ${position}`);
    }
    const port = this.storedPort;
    if (!port) {
      throw new TransferError('BT_ERR_ILLEGAL_STATE', `download ${this.guid} was not started: use startAsync()`);
    }
    const resultPath = this.#resultPath();
    return openDownloadStream(
      {
        resultPath,
        partialPath: partialPathOf(resultPath, this.guid),
        status: async () => (await port.call('get', this.snapshot.appId, { guid: this.guid })).progress.status,
      },
      position,
    );
  }

  #resultPath(): string {
    const path = this.snapshot.resultPath;
    if (path === null) throw new TransferError('BT_ERR_INTERNAL', `download ${this.guid} has no result file`);
    return path;
  }
}
