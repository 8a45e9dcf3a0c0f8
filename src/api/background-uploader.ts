import { randomUUID } from 'node:crypto';
import { BackgroundTransferCostPolicy, BackgroundTransferPriority } from '../core/enums.ts';
import { TransferError } from '../core/errors.ts';
import type { OperationSnapshot } from '../core/snapshot.ts';
import type { TransferPort } from '../ipc/transfer-port.ts';
import { inspectSourceFile } from '../source/file-source.ts';
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

/** How an upload continues across restarts (beyond Windows; spec/contract.md §2). */
export type ResumeProtocol = 'auto' | 'tus' | 'ietf' | 'none';

/**
 * BackgroundUploader (reference §2.1): configuration collected before operations are created (R5);
 * changing it later does not change operations already created.
 */
export class BackgroundUploader {
  #method = 'POST';
  #costPolicy: BackgroundTransferCostPolicy = BackgroundTransferCostPolicy.default;
  #transferGroup: BackgroundTransferGroup | null = null;
  #group: string | null = null;
  #resumeProtocol: ResumeProtocol = 'auto';
  readonly #headers = new RequestHeaders();
  readonly #completionGroup: unknown;
  serverCredential: PasswordCredential | null = null;
  proxyCredential: PasswordCredential | null = null;
  successToastNotification: unknown = null;
  failureToastNotification: unknown = null;

  constructor(completionGroup?: unknown) {
    this.#completionGroup = completionGroup ?? null;
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

  get completionGroup(): unknown {
    return this.#completionGroup;
  }

  /** R63: a repeated header joins its values with ", ". */
  setRequestHeader(headerName: string, headerValue: string): void {
    this.#headers.set(headerName, headerValue);
  }

  /**
   * Creates (does not start) an upload of one file as the raw request body (reference §2.1). Bad input
   * throws a coded error here, before anything is queued: the URI (absolute http/https), the file
   * (exists, regular, readable).
   */
  createUpload(uri: UriLike, file: FileLike): UploadOperation {
    const url = validateUri(uri);
    if (url.protocol === 'ftp:') {
      throw new TransferError('BT_ERR_UNSUPPORTED_SCHEME', 'FTP uploads are not supported yet: use http or https');
    }
    const source = inspectSourceFile(filePathOf(file));
    return UploadOperation.fromSpec(
      {
        guid: randomUUID(),
        appId: currentAppId(),
        method: this.#method,
        requestedUri: url.href,
        sourcePath: source.path,
        headers: this.#headers.toArray(),
        costPolicy: this.#costPolicy,
        priority: BackgroundTransferPriority.default,
        group: this.#group,
        transferGroup: this.#transferGroup?.toSpec() ?? null,
      },
      source.size,
    );
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

async function enumerate(filter: Parameters<TransferPort['list']>[1]): Promise<VectorView<UploadOperation>> {
  const port = await getPort();
  const snapshots: OperationSnapshot[] = await port.list(currentAppId(), filter);
  return asVectorView(snapshots.map((snapshot) => UploadOperation.fromSnapshot(snapshot, port)));
}
