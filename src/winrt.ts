import { BackgroundDownloader } from './api/background-downloader.ts';
import { BackgroundTransferCompletionGroup } from './api/background-transfer-completion-group.ts';
import { BackgroundTransferContentPart } from './api/background-transfer-content-part.ts';
import { BackgroundTransferError } from './api/background-transfer-error.ts';
import { BackgroundTransferGroup } from './api/background-transfer-group.ts';
import { BackgroundUploader } from './api/background-uploader.ts';
import { DownloadOperation } from './api/download-operation.ts';
import { ResponseInformation } from './api/response-information.ts';
import { StorageFile } from './api/storage-file.ts';
import { UploadOperation } from './api/upload-operation.ts';
import { Uri } from './api/uri.ts';
import {
  BackgroundTransferBehavior,
  BackgroundTransferCostPolicy,
  BackgroundTransferPriority,
  BackgroundTransferStatus,
  WebErrorStatus,
} from './core/enums.ts';

/**
 * `bgtransfer/winrt`: one object `Windows` laid out like the WinRT namespaces, so WinJS-era code such
 * as the seed's JavaScript sample (`new Windows.Networking.BackgroundTransfer.BackgroundUploader()`,
 * `Windows.Foundation.Uri(s)`) runs unchanged (docs/api/winrt.md).
 */
export const Windows = Object.freeze({
  Foundation: Object.freeze({ Uri }),
  Storage: Object.freeze({ StorageFile }),
  Web: Object.freeze({ WebErrorStatus }),
  Networking: Object.freeze({
    BackgroundTransfer: Object.freeze({
      BackgroundUploader,
      UploadOperation,
      BackgroundDownloader,
      DownloadOperation,
      ResponseInformation,
      BackgroundTransferGroup,
      BackgroundTransferContentPart,
      BackgroundTransferCompletionGroup,
      BackgroundTransferError,
      BackgroundTransferStatus,
      BackgroundTransferCostPolicy,
      BackgroundTransferPriority,
      BackgroundTransferBehavior,
    }),
  }),
});
