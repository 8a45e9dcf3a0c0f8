import { statSync } from 'node:fs';
import { BackgroundTransferStatus } from '../core/enums.ts';
import { TransferError } from '../core/errors.ts';
import { responseBodyPath } from '../core/paths.ts';
import type { OperationRecord } from '../store/operation-record.ts';
import type { OperationStore } from '../store/operation-store.ts';

export interface RecoveryCounts {
  restarted: number;
  resumed: number;
  terminated: number;
  /** The server had answered 2xx before the process died: complete, never sent again. */
  completed: number;
}

/**
 * What a new engine does with operations the previous process left "running" (it died or exited
 * mid-request): "Once enumerated, PUT upload operations are automatically restarted, and POST upload
 * operations are terminated" (R12; R13 for app exit). Every other method is treated like PUT: its
 * request is sent again from byte 0 with hasRestarted set (R38). Better than Windows:
 * - a final 2xx answer had already been stored: the server accepted the body, so the upload is
 *   complete (its response body flagged as truncated unless the whole of it is on disk);
 * - an operation with a resumable session continues from the server-acknowledged offset;
 * - a POST that was still only becoming a resumable upload (creationPending: the endpoint probe, the
 *   creation request, or a creating request before its first body byte) sent nothing the server could
 *   accept, so it is created again (hasRestarted) instead of terminated.
 */
export function recoverInterrupted(store: OperationStore, home: string): RecoveryCounts {
  const counts: RecoveryCounts = { restarted: 0, resumed: 0, terminated: 0, completed: 0 };
  for (const record of store.listByStatus([BackgroundTransferStatus.running])) {
    // A download's stored 2xx is only the head of its body: it resumes from its partial file instead.
    if (record.direction === 'upload' && acceptedByServer(record)) {
      if (completeAccepted(store, record, home)) counts.completed += 1;
    } else if (record.extras.session !== null) {
      // A resumable session (of whichever protocol): continue from the server's offset, whatever the method.
      if (store.moveToQueued(record.guid, { restart: false, countAttempt: false, notBeforeMs: 0, lastError: null })) {
        counts.resumed += 1;
      }
    } else if (record.method.toUpperCase() === 'POST' && !record.extras.creationPending) {
      const error = new TransferError(
        'BT_ERR_POST_TERMINATED',
        `POST upload ${record.guid} was interrupted when its process ended; POST uploads are terminated, not restarted (R12)`,
      );
      if (store.moveToFailed(record.guid, error.toJSON())) counts.terminated += 1;
    } else if (
      store.moveToQueued(record.guid, { restart: true, countAttempt: false, notBeforeMs: 0, lastError: null })
    ) {
      counts.restarted += 1;
    }
  }
  return counts;
}

/**
 * The stored response of a running operation is the final answer of its current request (a failed
 * attempt's answer is never 2xx: a 2xx completes the upload), so a 2xx here means the server has it.
 */
export function acceptedByServer(record: OperationRecord): boolean {
  const status = record.response?.statusCode;
  return status !== undefined && status >= 200 && status < 300;
}

function completeAccepted(store: OperationStore, record: OperationRecord, home: string): boolean {
  const response = record.response;
  if (response === null) return false;
  const received = bodyBytesOnDisk(responseBodyPath(home, record.guid));
  const declared = record.progress.totalBytesToReceive;
  // Without a Content-Length (0 here) nobody can tell whether the body was whole: say it may not be.
  const whole = declared > 0 && received === declared;
  if (!whole) store.recordResponse(record.guid, { ...response, bodyTruncated: true }, declared);
  store.recordProgress(record.guid, {
    bytesSent: record.progress.totalBytesToSend,
    bytesReceived: received,
    totalBytesToReceive: declared,
  });
  return store.moveToCompleted(record.guid) !== null;
}

function bodyBytesOnDisk(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
