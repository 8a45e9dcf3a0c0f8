import type {
  BackgroundTransferBehavior,
  BackgroundTransferCostPolicy,
  BackgroundTransferPriority,
  BackgroundTransferStatus,
} from './enums.ts';
import type { SerializedTransferError } from './errors.ts';
import type { RequestExtras } from './operation-extras.ts';

/**
 * Plain data that crosses the seam between the API and the engine (in-process today, the host's socket
 * in the next step). Everything here is JSON-safe.
 */

/** BackgroundUploadProgress (R34–R40). */
export interface ProgressSnapshot {
  bytesSent: number;
  totalBytesToSend: number;
  bytesReceived: number;
  totalBytesToReceive: number;
  status: BackgroundTransferStatus;
  hasResponseChanged: boolean;
  hasRestarted: boolean;
}

/** ResponseInformation (R41–R45); headers keep the server's case and order. */
export interface ResponseSnapshot {
  statusCode: number;
  actualUri: string;
  isResumable: boolean;
  headers: Array<[string, string]>;
  /**
   * Beyond Windows: the connection broke (or the host died) while the response body was arriving, so
   * the stored body is only its beginning. Absent means false. A 2xx status still completes the upload.
   */
  bodyTruncated?: boolean;
}

/** Which way the body goes: an upload (BackgroundUploader) or a download (BackgroundDownloader). */
export type TransferDirection = 'upload' | 'download';

/** What makes a start a download (BackgroundDownloader.createDownload): where the body ends up. */
export interface DownloadRequest {
  /** Absolute path of the result file; it holds the body only once the download completed. */
  resultPath: string;
}

export interface TransferGroupSpec {
  name: string;
  transferBehavior: BackgroundTransferBehavior;
}

/** What the app asks for when it starts an upload (everything createUpload collected). */
export interface OperationSpec {
  guid: string;
  appId: string;
  method: string;
  requestedUri: string;
  /** The raw-body file (CreateUpload); null for multipart and stream bodies. */
  sourcePath: string | null;
  headers: Array<[string, string]>;
  costPolicy: BackgroundTransferCostPolicy;
  priority: BackgroundTransferPriority;
  group: string | null;
  transferGroup: TransferGroupSpec | null;
  /**
   * Body kind, resume protocol, credentials, notifications, completion group (default:
   * DEFAULT_REQUEST_EXTRAS). Only what an app asks for: the engine fills in its own state.
   */
  extras?: RequestExtras;
  /** Present for a download (docs/downloads.md); absent for an upload. */
  download?: DownloadRequest;
}

/** One operation as the API sees it. */
export interface OperationSnapshot {
  guid: string;
  appId: string;
  method: string;
  requestedUri: string;
  sourcePath: string | null;
  group: string | null;
  transferGroup: TransferGroupSpec | null;
  costPolicy: BackgroundTransferCostPolicy;
  priority: BackgroundTransferPriority;
  progress: ProgressSnapshot;
  /** Bumped each time a new response arrives (R41: same object until then). */
  responseVersion: number;
  response: ResponseSnapshot | null;
  error: SerializedTransferError | null;
  createdAtMs: number;
  /**
   * Beyond Windows: the SHA-256 of the bytes uploaded (the encoded body for multipart) as RFC 9530's
   * `sha-256=:<base64>:`, once the whole body has been read; null before.
   */
  contentDigest: string | null;
  /** Operations stored before downloads existed are uploads. */
  direction: TransferDirection;
  /** A download's result file (absolute path); null for an upload. */
  resultPath: string | null;
  /**
   * What a download's app chose before startAsync, so an operation found by enumeration reports it
   * too. Absent from hosts that predate them: the defaults (false, none, null).
   */
  isRandomAccessRequired?: boolean;
  recoverableWebErrorStatuses?: number[];
  expectedContentDigest?: string | null;
}

/** Which operations an enumeration returns (R22–R24). */
export type ListFilter =
  | { kind: 'ungrouped' }
  | { kind: 'group'; group: string }
  | { kind: 'transferGroup'; name: string }
  | { kind: 'all' };

/** Settable after creation (R52 costPolicy, R31 priority, R64 headers). */
export interface OperationPatch {
  costPolicy?: BackgroundTransferCostPolicy;
  priority?: BackgroundTransferPriority;
  headers?: Array<[string, string]>;
  /** DownloadOperation.requestedUri set by the app (an expired signed URL replaced): the next request uses it. */
  requestedUri?: string;
}

/** A change an app makes to a started operation through the port (R52, R31, R64). */
export interface OperationChange {
  costPolicy?: BackgroundTransferCostPolicy;
  priority?: BackgroundTransferPriority;
  /** R64: set (join, R63) or remove one request header for the next requests. */
  setHeader?: [string, string];
  removeHeader?: string;
  /** A download's new URI for the next requests (DownloadOperation.requestedUri is writable). */
  requestedUri?: string;
  /** DownloadOperation.recoverableWebErrorStatuses changed after start: the whole new list. */
  recoverableWebErrorStatuses?: number[];
}

/** The program a completion group runs (R78, R79): no shell, arguments as given. */
export interface CompletionTask {
  command: string;
  args: string[];
  cwd: string | null;
}
