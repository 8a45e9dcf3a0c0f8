import { DEFAULT_REQUEST_EXTRAS } from '../core/default-extras.ts';
import { BackgroundTransferCostPolicy, BackgroundTransferPriority } from '../core/enums.ts';
import { TransferError } from '../core/errors.ts';
import { nodeCrypto } from '../core/lazy-builtins.ts';
import type { NotificationSpec, RequestBody, RequestExtras } from '../core/operation-extras.ts';
import { captureProxyEnv } from '../core/proxy-env.ts';
import type { OperationSpec } from '../core/snapshot.ts';
import { splitUserinfo } from '../core/url-credentials.ts';
import { fillSpool } from '../source/stream-spool.ts';
import { BackgroundTransferCompletionGroup } from './background-transfer-completion-group.ts';
import { BackgroundTransferGroup } from './background-transfer-group.ts';
import { currentAppId, getPort } from './port-provider.ts';
import { RequestHeaders } from './request-headers.ts';
import { validateEnumValue, validateMethod } from './validation.ts';

/** Windows.Security.Credentials.PasswordCredential, as far as transfers use it (R65). */
export interface PasswordCredential {
  userName: string;
  password: string;
  resource?: string;
}

/** The largest request body stream that is spooled (bounded). */
const MAX_SPOOL_BYTES = 64 * 1024 ** 3;

/** A ToastNotification stand-in (R74): the text of a desktop notification. */
export type NotificationLike = string | { summary?: string; body: string } | null;

/**
 * What BackgroundUploader and BackgroundDownloader share (BackgroundTransferBase in Windows): the
 * configuration collected before operations are created (R5) — method, headers, cost policy, groups,
 * credentials, notifications, completion group. Changing it later does not change operations already
 * created.
 */
export abstract class BackgroundTransferBase {
  #method: string;
  #costPolicy: BackgroundTransferCostPolicy = BackgroundTransferCostPolicy.default;
  #transferGroup: BackgroundTransferGroup | null = null;
  #group: string | null = null;
  readonly #headers = new RequestHeaders();
  readonly #completionGroup: BackgroundTransferCompletionGroup | null;
  #serverCredential: PasswordCredential | null = null;
  #proxyCredential: PasswordCredential | null = null;
  #success: NotificationSpec | null = null;
  #failure: NotificationSpec | null = null;
  /** R75: the operations this object creates are judged together for its notifications. */
  readonly #batchId = nodeCrypto().randomUUID();

  /** R4 of the ctor: every operation this object creates joins `completionGroup` (R78). */
  protected constructor(defaultMethod: string, completionGroup?: BackgroundTransferCompletionGroup) {
    if (completionGroup !== undefined && !(completionGroup instanceof BackgroundTransferCompletionGroup)) {
      throw new TransferError('BT_ERR_INVALID_ARGUMENT', 'expected a BackgroundTransferCompletionGroup');
    }
    this.#method = defaultMethod;
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

  /** R74: shown once every operation this object created completed. */
  get successToastNotification(): NotificationSpec | null {
    return this.#success;
  }
  set successToastNotification(value: NotificationLike) {
    this.#success = toNotification('successToastNotification', value);
  }

  /** R74: shown when one operation this object created fails. */
  get failureToastNotification(): NotificationSpec | null {
    return this.#failure;
  }
  set failureToastNotification(value: NotificationLike) {
    this.#failure = toNotification('failureToastNotification', value);
  }

  /** R6: POST for uploads, GET for downloads by default; any HTTP token (PUT, PATCH, a custom verb). */
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

  get completionGroup(): BackgroundTransferCompletionGroup | null {
    return this.#completionGroup;
  }

  /** R63: a repeated header joins its values with ", ". */
  setRequestHeader(headerName: string, headerValue: string): void {
    this.#headers.set(headerName, headerValue);
  }

  /**
   * Spools a request body stream (createUploadFromStreamAsync, createDownloadAsync) into a file the
   * transfer engine creates under BGTRANSFER_HOME, so the operation survives the app's exit and can be
   * retried; the engine removes the file when the operation ends, or when this app goes away without
   * having started it. `make` builds the operation from the spooled body.
   */
  protected async spoolStream<T>(
    stream: NodeJS.ReadableStream | ReadableStream<Uint8Array>,
    make: (body: RequestBody, size: number) => T,
  ): Promise<T> {
    const port = await getPort();
    const appId = currentAppId();
    const spool = await port.call('createSpool', appId, {});
    try {
      const spooled = await fillSpool(stream, spool.path, { maxBytes: MAX_SPOOL_BYTES });
      return make({ kind: 'stream', spoolId: spool.spoolId }, spooled.size);
    } catch (error) {
      await port.call('releaseSpool', appId, { spoolId: spool.spoolId }).catch(() => undefined);
      throw error;
    }
  }

  /**
   * The spec of a new operation with this configuration (the completion group must still take members).
   * Userinfo becomes the server credential here already, so the app's own requestedUri matches what
   * enumeration returns later (the engine does the same for any client).
   */
  protected newSpec(
    url: URL,
    method: string,
    sourcePath: string | null,
    body: RequestBody,
    extras: Partial<RequestExtras> = {},
  ): OperationSpec {
    this.#completionGroup?.assertOpenForMembers();
    const { requestedUri, serverCredential } = splitUserinfo(url.href, this.#serverCredential);
    return {
      guid: nodeCrypto().randomUUID(),
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
        ...extras,
        body,
        serverCredential: serverCredential && { ...serverCredential },
        proxyCredential: this.#proxyCredential && { ...this.#proxyCredential },
        successNotification: this.#success,
        failureNotification: this.#failure,
        notificationBatchId: this.#success || this.#failure ? this.#batchId : null,
        completionGroupId: this.#completionGroup?.id ?? null,
        proxyEnv: captureProxyEnv(),
      },
    };
  }
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
