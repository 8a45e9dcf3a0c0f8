import { TransferError } from '../core/errors.ts';
import type { OperationExtras } from '../core/operation-extras.ts';
import { checkResultLocation } from '../core/result-location.ts';
import type { OperationSpec } from '../core/snapshot.ts';
import type { OperationRecord } from '../store/operation-record.ts';
import { newDownloadSession } from './run-download.ts';

/**
 * The engine's side of starting a download: its body is 'none' or a request body file/stream, and it
 * is resumable from the first byte on (a 'download' session: the partial file). An upload may not come
 * without a body.
 */
export function withDownloadSession(spec: OperationSpec, extras: OperationExtras): OperationExtras {
  if (!spec.download) {
    if (extras.body.kind === 'none') {
      throw new TransferError('BT_ERR_INVALID_ARGUMENT', `upload ${spec.guid} has no body (body kind "none")`);
    }
    return extras;
  }
  if (extras.body.kind === 'multipart') {
    throw new TransferError('BT_ERR_INVALID_ARGUMENT', `download ${spec.guid} cannot send a multipart request body`);
  }
  checkResultLocation(spec.download.resultPath);
  return { ...extras, session: newDownloadSession() };
}

/** DownloadOperation.requestedUri set again: only a download's, the next request uses it. */
export function downloadUri(record: OperationRecord, uri: string): string {
  if (record.direction !== 'download') {
    throw new TransferError('BT_ERR_INVALID_ARGUMENT', `the URI of upload ${record.guid} cannot change`);
  }
  return uri;
}
