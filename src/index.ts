/**
 * bgtransfer: durable background uploads for Node.js in the shape of
 * Windows.Networking.BackgroundTransfer (docs/api/README.md).
 */
export { BackgroundDownloader } from './api/background-downloader.ts';
export { BackgroundTransferCompletionGroup } from './api/background-transfer-completion-group.ts';
export { BackgroundTransferContentPart } from './api/background-transfer-content-part.ts';
export { BackgroundTransferError } from './api/background-transfer-error.ts';
export { BackgroundTransferGroup } from './api/background-transfer-group.ts';
export {
  BackgroundUploader,
  type NotificationLike,
  type PasswordCredential,
  type ResumeProtocol,
} from './api/background-uploader.ts';
export { type BackgroundDownloadProgress, DownloadOperation } from './api/download-operation.ts';
export { closeAsync } from './api/port-provider.ts';
export { ResponseHeaders, ResponseInformation } from './api/response-information.ts';
export { type FileLike, StorageFile } from './api/storage-file.ts';
export { TransferPromise } from './api/transfer-promise.ts';
export { UploadOperation } from './api/upload-operation.ts';
export { Uri } from './api/uri.ts';
export type { UriLike } from './api/validation.ts';
export type { VectorView } from './api/vector-view.ts';
export {
  BackgroundTransferBehavior,
  BackgroundTransferCostPolicy,
  BackgroundTransferPriority,
  BackgroundTransferStatus,
  WebErrorStatus,
} from './core/enums.ts';
export { ERROR_DEFINITIONS, type ErrorCode, TransferError } from './core/errors.ts';
/** BackgroundUploadProgress is a plain snapshot object (R34–R40). */
export type { ProgressSnapshot as BackgroundUploadProgress } from './core/snapshot.ts';
