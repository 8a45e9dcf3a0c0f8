import { TransferError } from '../core/errors.ts';
import {
  DEFAULT_INTEROP_VERSION,
  type IetfInteropVersion,
  isSupportedInteropVersion,
  SUPPORTED_INTEROP_VERSIONS,
} from '../core/ietf-interop.ts';
import { generateBoundary } from '../core/multipart/boundary.ts';
import { measureMultipart } from '../core/multipart/plan.ts';
import type { RequestBody } from '../core/operation-extras.ts';
import type { ListFilter, OperationSnapshot } from '../core/snapshot.ts';
import { inspectSourceFile } from '../source/file-source.ts';
import { assertUploadStream } from '../source/stream-spool.ts';
import { BackgroundTransferBase } from './background-transfer-base.ts';
import type { BackgroundTransferCompletionGroup } from './background-transfer-completion-group.ts';
import { BackgroundTransferContentPart } from './background-transfer-content-part.ts';
import { BackgroundTransferGroup } from './background-transfer-group.ts';
import { currentAppId, getPort } from './port-provider.ts';
import { type FileLike, filePathOf } from './storage-file.ts';
import { UploadOperation } from './upload-operation.ts';
import { type UriLike, validateUri } from './validation.ts';
import { asVectorView, type VectorView } from './vector-view.ts';

/** How an upload continues across restarts (beyond Windows; docs/api/background-uploader.md). */
export type ResumeProtocol = 'auto' | 'tus' | 'ietf' | 'none';

/**
 * BackgroundUploader (docs/api/background-uploader.md): configuration collected before operations are created (R5);
 * changing it later does not change operations already created. What it shares with BackgroundDownloader
 * (method, headers, groups, credentials, notifications) is in background-transfer-base.ts.
 */
export class BackgroundUploader extends BackgroundTransferBase {
  #resumeProtocol: ResumeProtocol = 'auto';
  #ietfInteropVersion: IetfInteropVersion = DEFAULT_INTEROP_VERSION;
  #sendContentDigest = false;
  #tusParallelUploads = 1;

  /** R4 of the ctor: every operation this uploader creates joins `completionGroup` (R78). */
  constructor(completionGroup?: BackgroundTransferCompletionGroup) {
    super('POST', completionGroup);
  }

  get resumeProtocol(): ResumeProtocol {
    return this.#resumeProtocol;
  }
  set resumeProtocol(value: ResumeProtocol) {
    if (!['auto', 'tus', 'ietf', 'none'].includes(value)) {
      throw new TransferError(
        'BT_ERR_INVALID_ARGUMENT',
        `resumeProtocol must be auto, tus, ietf or none; got ${String(value)}`,
      );
    }
    this.#resumeProtocol = value;
  }

  /**
   * `Upload-Draft-Interop-Version` spoken by the IETF resumable-upload protocol: 6 (drafts -04/-05,
   * the default, what most draft servers speak) or 8 (drafts -09 to -11). docs/protocols.md.
   */
  get ietfInteropVersion(): IetfInteropVersion {
    return this.#ietfInteropVersion;
  }
  set ietfInteropVersion(value: IetfInteropVersion) {
    if (!isSupportedInteropVersion(value)) {
      throw new TransferError(
        'BT_ERR_INVALID_ARGUMENT',
        `ietfInteropVersion must be one of ${SUPPORTED_INTEROP_VERSIONS.join(', ')}; got ${String(value)}`,
      );
    }
    this.#ietfInteropVersion = value;
  }

  /**
   * Beyond Windows: send the body's SHA-256 as `Repr-Digest` (RFC 9530) on plain PUT/POST requests
   * and IETF draft uploads, so the server can check what it received. Costs one extra read of the
   * body before it is sent (a header comes first). Default false. docs/protocols.md, "Integrity".
   */
  get sendContentDigest(): boolean {
    return this.#sendContentDigest;
  }
  set sendContentDigest(value: boolean) {
    if (typeof value !== 'boolean') {
      throw new TransferError(
        'BT_ERR_INVALID_ARGUMENT',
        `sendContentDigest must be true or false; got ${String(value)}`,
      );
    }
    this.#sendContentDigest = value;
  }

  /**
   * Beyond Windows: where a tus server has the concatenation extension, a body of at least this many
   * MiB goes as this many partial uploads over as many connections, then one final request. 1 to 16;
   * default 1 (one upload). docs/protocols.md, "tus extensions".
   */
  get tusParallelUploads(): number {
    return this.#tusParallelUploads;
  }
  set tusParallelUploads(value: number) {
    if (!Number.isInteger(value) || value < 1 || value > 16) {
      throw new TransferError(
        'BT_ERR_INVALID_ARGUMENT',
        `tusParallelUploads must be a whole number from 1 to 16; got ${String(value)}`,
      );
    }
    this.#tusParallelUploads = value;
  }

  /**
   * Creates (does not start) an upload of one file as the raw request body. Bad input
   * throws a coded error here, before anything is queued: the URI (absolute http/https), the file
   * (exists, regular, readable).
   */
  createUpload(uri: UriLike, file: FileLike): UploadOperation {
    const url = validateUri(uri);
    const source = inspectSourceFile(filePathOf(file));
    return this.#operation(url, source.path, { kind: 'file' }, source.size);
  }

  /**
   * Multipart upload (R69–R72): `multipart/<subType>` (default form-data) with `boundary` (default a
   * random one). Every part is checked now; `totalBytesToSend` is the exact encoded length and the
   * request carries Content-Length.
   */
  async createUploadAsync(
    uri: UriLike,
    parts: Iterable<BackgroundTransferContentPart>,
    subType = 'form-data',
    boundary: string = generateBoundary(),
  ): Promise<UploadOperation> {
    const url = validateUri(uri);
    const list = [...parts];
    if (!list.every((part) => part instanceof BackgroundTransferContentPart)) {
      throw new TransferError('BT_ERR_INVALID_ARGUMENT', 'parts must be BackgroundTransferContentPart objects');
    }
    const specs = list.map((part) => part.toSpec());
    const { size } = measureMultipart(specs, subType, boundary);
    return this.#operation(url, null, { kind: 'multipart', parts: specs, subType, boundary }, size);
  }

  /**
   * Upload from a stream (Node Readable or web ReadableStream). The stream is spooled first into a
   * file the transfer engine creates under BGTRANSFER_HOME, so the upload survives the app's exit and
   * can be retried; the engine removes the file when the operation ends, or when this app goes away
   * without having started it.
   */
  async createUploadFromStreamAsync(
    uri: UriLike,
    stream: NodeJS.ReadableStream | ReadableStream<Uint8Array>,
  ): Promise<UploadOperation> {
    const url = validateUri(uri);
    assertUploadStream(stream);
    // Everything that can refuse the operation is checked before the stream is spooled.
    this.completionGroup?.assertOpenForMembers();
    return this.spoolStream(stream, (body, size) => this.#operation(url, null, body, size));
  }

  #operation(url: URL, sourcePath: string | null, body: RequestBody, size: number): UploadOperation {
    // R6 makes POST the default; an ftp:// upload defaults to STOR instead.
    const isFtp = url.protocol === 'ftp:' || url.protocol === 'ftps:';
    const method = isFtp && this.method === 'POST' ? 'STOR' : this.method;
    const spec = this.newSpec(url, method, sourcePath, body, {
      resumeProtocol: this.#resumeProtocol,
      ietfInteropVersion: this.#ietfInteropVersion,
      sendContentDigest: this.#sendContentDigest,
      tusParallelUploads: this.#tusParallelUploads,
    });
    return UploadOperation.fromSpec(spec, size, this.completionGroup);
  }

  /** R22: the calling app's operations that have no group. Includes ones that ended while no app ran (R11). */
  static getCurrentUploadsAsync(group?: string): Promise<VectorView<UploadOperation>> {
    if (group === undefined) return enumerate({ kind: 'ungrouped' });
    if (typeof group !== 'string') {
      return Promise.reject(new TransferError('BT_ERR_INVALID_ARGUMENT', 'group must be a string'));
    }
    return enumerate({ kind: 'group', group });
  }

  /** R24. */
  static getCurrentUploadsForTransferGroupAsync(group: BackgroundTransferGroup): Promise<VectorView<UploadOperation>> {
    if (!(group instanceof BackgroundTransferGroup)) {
      return Promise.reject(new TransferError('BT_ERR_INVALID_ARGUMENT', 'expected a BackgroundTransferGroup'));
    }
    return enumerate({ kind: 'transferGroup', name: group.name });
  }
}

async function enumerate(filter: ListFilter): Promise<VectorView<UploadOperation>> {
  const port = await getPort();
  const snapshots: OperationSnapshot[] = await port.call('list', currentAppId(), { filter, direction: 'upload' });
  return asVectorView(UploadOperation.fromSnapshots(snapshots, port));
}

export type { NotificationLike, PasswordCredential } from './background-transfer-base.ts';
