import type { Readable } from 'node:stream';
import { TransferError } from '../core/errors.ts';
import { nodeStream } from '../core/lazy-builtins.ts';
import type { Logger } from '../core/logger.ts';
import { responseBodyPath } from '../core/paths.ts';
import type { OperationSnapshot, OperationSpec, ProgressSnapshot } from '../core/snapshot.ts';
import type { TransferPort } from '../ipc/transfer-port.ts';
import type { BackgroundTransferCompletionGroup } from './background-transfer-completion-group.ts';
import { createdSnapshot } from './created-snapshot.ts';
import { openResultStream } from './result-stream.ts';
import { StorageFile } from './storage-file.ts';
import { type Lifecycle, TransferOperation } from './transfer-operation.ts';

/** Guards the constructor: operations come only from an uploader or an enumeration (R1). */
const CREATE = Symbol('UploadOperation.create');

/**
 * UploadOperation (docs/api/upload-operation.md): a handle on one upload. The state lives with the engine; this
 * object keeps the latest snapshot it was sent, so the synchronous getters (progress, R34) work. The
 * lifecycle, transfer promise and property changes are shared with DownloadOperation (transfer-operation.ts).
 */
export class UploadOperation extends TransferOperation<UploadOperation> {
  /** @internal */
  constructor(token: typeof CREATE, snapshot: OperationSnapshot, lifecycle: Lifecycle, log?: Logger) {
    if (token !== CREATE) {
      throw new TransferError(
        'BT_ERR_ILLEGAL_STATE',
        'UploadOperation has no public constructor: use BackgroundUploader (R1)',
      );
    }
    super(snapshot, lifecycle, 'upload', log);
  }

  /** @internal An operation createUpload made (not started). */
  static fromSpec(
    spec: OperationSpec,
    totalBytesToSend: number,
    completionGroup: BackgroundTransferCompletionGroup | null = null,
  ): UploadOperation {
    const snapshot = createdSnapshot(spec, totalBytesToSend);
    const operation = new UploadOperation(CREATE, snapshot, { kind: 'created', spec });
    operation.completionGroup = completionGroup;
    return operation;
  }

  /**
   * @internal What startAsync would store, for front ends that start through the port themselves
   * (the CLI's `upload --detach` returns as soon as the operation is stored).
   */
  static specOf(operation: UploadOperation): OperationSpec {
    const spec = operation.createdSpec;
    if (spec === undefined) {
      throw new TransferError('BT_ERR_ILLEGAL_STATE', `upload ${operation.guid} was already started`);
    }
    return spec;
  }

  /** @internal An operation the engine already stores (enumeration, R3: attach, don't start). */
  static fromSnapshot(snapshot: OperationSnapshot, port: TransferPort): UploadOperation {
    return new UploadOperation(CREATE, snapshot, { kind: 'stored', port });
  }

  /** @internal An enumeration's operations, sharing one lifecycle (it is replaced, never changed). */
  static fromSnapshots(snapshots: readonly OperationSnapshot[], port: TransferPort): UploadOperation[] {
    const lifecycle: Lifecycle = { kind: 'stored', port };
    return snapshots.map((snapshot) => new UploadOperation(CREATE, snapshot, lifecycle));
  }

  /** The file uploaded; null for multipart and stream uploads. */
  get sourceFile(): StorageFile | null {
    return this.snapshot.sourcePath === null ? null : StorageFile.fromPath(this.snapshot.sourcePath);
  }

  /**
   * Beyond Windows: the SHA-256 of the bytes uploaded as `sha-256=:<base64>:` (RFC 9530), available
   * once the whole body has been read (for a resumed upload, once the rest was sent), else null. For a
   * multipart upload it is the digest of the encoded body that was sent.
   */
  get contentDigest(): string | null {
    return this.snapshot.contentDigest;
  }

  /** A copy of the latest progress (R34: take one copy per handler call). */
  get progress(): ProgressSnapshot {
    return this.currentProgress;
  }

  /**
   * R46: the server's response body from `position`, read from the file the engine writes it to — so
   * it works while the upload runs, after it ended, and after a restart. Empty before any response.
   */
  getResultStreamAt(position = 0): Readable {
    if (!Number.isSafeInteger(position) || position < 0) {
      throw new TransferError('BT_ERR_INVALID_ARGUMENT', `position must be a non-negative integer, got ${position}`);
    }
    const home = this.storedPort?.home;
    if (!home || !this.snapshot.response) return nodeStream().Readable.from([]);
    return openResultStream(responseBodyPath(home, this.guid), position);
  }
}
