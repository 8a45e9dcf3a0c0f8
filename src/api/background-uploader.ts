import { randomUUID } from 'node:crypto';
import { DEFAULT_REQUEST_EXTRAS } from '../core/default-extras.ts';
import { BackgroundTransferCostPolicy, BackgroundTransferPriority } from '../core/enums.ts';
import { TransferError } from '../core/errors.ts';
import {
  DEFAULT_INTEROP_VERSION,
  type IetfInteropVersion,
  isSupportedInteropVersion,
  SUPPORTED_INTEROP_VERSIONS,
} from '../core/ietf-interop.ts';
import { generateBoundary } from '../core/multipart/boundary.ts';
import { measureMultipart } from '../core/multipart/plan.ts';
import type { NotificationSpec, RequestBody } from '../core/operation-extras.ts';
import { captureProxyEnv } from '../core/proxy-env.ts';
import type { ListFilter, OperationSnapshot, OperationSpec } from '../core/snapshot.ts';
import { splitUserinfo } from '../core/url-credentials.ts';
import { inspectSourceFile } from '../source/file-source.ts';
import { assertUploadStream, fillSpool } from '../source/stream-spool.ts';
import { BackgroundTransferCompletionGroup } from './background-transfer-completion-group.ts';
import { BackgroundTransferContentPart } from './background-transfer-content-part.ts';
import { BackgroundTransferGroup } from './background-transfer-group.ts';
import { currentAppId, getPort } from './port-provider.ts';
import { RequestHeaders } from './request-headers.ts';
import { type FileLike, filePathOf } from './storage-file.ts';
import { UploadOperation } from './upload-operation.ts';
import { type UriLike, validateEnumValue, validateMethod, validateUri } from './validation.ts';
import { asVectorView, type VectorView } from './vector-view.ts';

/** Windows.Security.Credentials.PasswordCredential, as far as uploads use it (R65). */
export interface PasswordCredential {
  userName: string;
  password: string;
  resource?: string;
}

/** How an upload continues across restarts (beyond Windows; docs/api/background-uploader.md). */
export type ResumeProtocol = 'auto' | 'tus' | 'ietf' | 'none';

/** A ToastNotification stand-in (R74): the text of a desktop notification. */
export type NotificationLike = string | { summary?: string; body: string } | null;

/** The largest stream createUploadFromStreamAsync spools (bounded). */
const MAX_SPOOL_BYTES = 64 * 1024 ** 3;

/**
 * BackgroundUploader (docs/api/background-uploader.md): configuration collected before operations are created (R5);
 * changing it later does not change operations already created.
 */
export class BackgroundUploader {
  #method = 'POST';
  #costPolicy: BackgroundTransferCostPolicy = BackgroundTransferCostPolicy.default;
  #transferGroup: BackgroundTransferGroup | null = null;
  #group: string | null = null;
  #resumeProtocol: ResumeProtocol = 'auto';
  #ietfInteropVersion: IetfInteropVersion = DEFAULT_INTEROP_VERSION;
  #sendContentDigest = false;
  #tusParallelUploads = 1;
  readonly #headers = new RequestHeaders();
  readonly #completionGroup: BackgroundTransferCompletionGroup | null;
  #serverCredential: PasswordCredential | null = null;
  #proxyCredential: PasswordCredential | null = null;
  #success: NotificationSpec | null = null;
  #failure: NotificationSpec | null = null;
  /** R75: the operations this uploader creates are judged together for its notifications. */
  readonly #batchId = randomUUID();

  /** R4 of the ctor: every operation this uploader creates joins `completionGroup` (R78). */
  constructor(completionGroup?: BackgroundTransferCompletionGroup) {
    if (completionGroup !== undefined && !(completionGroup instanceof BackgroundTransferCompletionGroup)) {
      throw new TransferError('BT_ERR_INVALID_ARGUMENT', 'expected a BackgroundTransferCompletionGroup');
    }
    this.#completionGroup = completionGroup ?? null;
  }

  /** R65: HTTP Basic/Digest and FTP login. Stored readable only by the user; never listed or logged. */
  get serverCredential(): PasswordCredential | null {
    return this.#serverCredential;
  }
  set serverCredential(value: PasswordCredential | null) {
    this.#serverCredential = checkCredential('serverCredential', value);
  }

  /** R65: credentials for the HTTP(S) proxy. */
  get proxyCredential(): PasswordCredential | null {
    return this.#proxyCredential;
  }
  set proxyCredential(value: PasswordCredential | null) {
    this.#proxyCredential = checkCredential('proxyCredential', value);
  }

  /** R74: shown once every upload this uploader created completed. */
  get successToastNotification(): NotificationSpec | null {
    return this.#success;
  }
  set successToastNotification(value: NotificationLike) {
    this.#success = toNotification('successToastNotification', value);
  }

  /** R74: shown when one upload this uploader created fails. */
  get failureToastNotification(): NotificationSpec | null {
    return this.#failure;
  }
  set failureToastNotification(value: NotificationLike) {
    this.#failure = toNotification('failureToastNotification', value);
  }

  /** R6: POST by default; any HTTP token (PUT, PATCH, a custom verb). */
  get method(): string {
    return this.#method;
  }
  set method(value: string) {
    this.#method = validateMethod(value);
  }

  get costPolicy(): BackgroundTransferCostPolicy {
    return this.#costPolicy;
  }
  set costPolicy(value: BackgroundTransferCostPolicy) {
    this.#costPolicy = validateEnumValue('costPolicy', value, BackgroundTransferCostPolicy);
  }

  get transferGroup(): BackgroundTransferGroup | null {
    return this.#transferGroup;
  }
  set transferGroup(value: BackgroundTransferGroup | null) {
    if (value !== null && !(value instanceof BackgroundTransferGroup)) {
      throw new TransferError(
        'BT_ERR_INVALID_ARGUMENT',
        'transferGroup must come from BackgroundTransferGroup.createGroup',
      );
    }
    this.#transferGroup = value;
  }

  /** Legacy string group (R23): such operations are enumerated only with getCurrentUploadsAsync(group). */
  get group(): string | null {
    return this.#group;
  }
  set group(value: string | null) {
    if (value !== null && (typeof value !== 'string' || value.length === 0)) {
      throw new TransferError('BT_ERR_INVALID_ARGUMENT', 'group must be a non-empty string or null');
    }
    this.#group = value;
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

  get completionGroup(): BackgroundTransferCompletionGroup | null {
    return this.#completionGroup;
  }

  /** R63: a repeated header joins its values with ", ". */
  setRequestHeader(headerName: string, headerValue: string): void {
    this.#headers.set(headerName, headerValue);
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
    this.#completionGroup?.assertOpenForMembers();
    const port = await getPort();
    const appId = currentAppId();
    const spool = await port.call('createSpool', appId, {});
    try {
      const spooled = await fillSpool(stream, spool.path, { maxBytes: MAX_SPOOL_BYTES });
      return this.#operation(url, null, { kind: 'stream', spoolId: spool.spoolId }, spooled.size);
    } catch (error) {
      await port.call('releaseSpool', appId, { spoolId: spool.spoolId }).catch(() => undefined);
      throw error;
    }
  }

  #operation(url: URL, sourcePath: string | null, body: RequestBody, size: number): UploadOperation {
    this.#completionGroup?.assertOpenForMembers();
    // R6 makes POST the default; an ftp:// upload defaults to STOR instead.
    const isFtp = url.protocol === 'ftp:' || url.protocol === 'ftps:';
    const method = isFtp && this.#method === 'POST' ? 'STOR' : this.#method;
    // Userinfo becomes the server credential here already, so the app's own requestedUri matches
    // what enumeration returns later (the engine does the same for any client).
    const { requestedUri, serverCredential } = splitUserinfo(url.href, this.#serverCredential);
    const spec: OperationSpec = {
      guid: randomUUID(),
      appId: currentAppId(),
      method,
      requestedUri,
      sourcePath,
      headers: this.#headers.toArray(),
      costPolicy: this.#costPolicy,
      priority: BackgroundTransferPriority.default,
      group: this.#group,
      transferGroup: this.#transferGroup?.toSpec() ?? null,
      extras: {
        ...DEFAULT_REQUEST_EXTRAS,
        body,
        resumeProtocol: this.#resumeProtocol,
        ietfInteropVersion: this.#ietfInteropVersion,
        sendContentDigest: this.#sendContentDigest,
        tusParallelUploads: this.#tusParallelUploads,
        serverCredential: serverCredential && { ...serverCredential },
        proxyCredential: this.#proxyCredential && { ...this.#proxyCredential },
        successNotification: this.#success,
        failureNotification: this.#failure,
        notificationBatchId: this.#success || this.#failure ? this.#batchId : null,
        completionGroupId: this.#completionGroup?.id ?? null,
        proxyEnv: captureProxyEnv(),
      },
    };
    return UploadOperation.fromSpec(spec, size, this.#completionGroup);
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
  const snapshots: OperationSnapshot[] = await port.call('list', currentAppId(), { filter });
  return asVectorView(snapshots.map((snapshot) => UploadOperation.fromSnapshot(snapshot, port)));
}

function checkCredential(name: string, value: PasswordCredential | null): PasswordCredential | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object' || typeof value.userName !== 'string' || typeof value.password !== 'string') {
    throw new TransferError('BT_ERR_INVALID_ARGUMENT', `${name} needs { userName, password } strings`);
  }
  return { userName: value.userName, password: value.password };
}

function toNotification(name: string, value: NotificationLike): NotificationSpec | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return { summary: 'bgtransfer', body: value };
  if (typeof value === 'object' && typeof value.body === 'string') {
    return { summary: value.summary ?? 'bgtransfer', body: value.body };
  }
  throw new TransferError('BT_ERR_INVALID_ARGUMENT', `${name} must be a string or { summary?, body }`);
}
