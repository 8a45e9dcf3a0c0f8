import { BackgroundTransferStatus } from '../core/enums.ts';
import { TransferError } from '../core/errors.ts';
import type { OperationStore } from '../store/operation-store.ts';

/**
 * What a new engine does with operations the previous process left "running" (it died or exited
 * mid-request): "Once enumerated, PUT upload operations are automatically restarted, and POST upload
 * operations are terminated" (R12; R13 for app exit). Every other method is treated like PUT: its
 * request is sent again from byte 0 with hasRestarted set (R38). Better than Windows: an operation with a
 * resumable session continues from the server-acknowledged offset instead.
 */
export function recoverInterrupted(store: OperationStore): { restarted: number; resumed: number; terminated: number } {
  let restarted = 0;
  let resumed = 0;
  let terminated = 0;
  for (const record of store.listByStatus([BackgroundTransferStatus.running])) {
    if (record.extras.session !== null) {
      // A resumable session (tus, IETF draft, FTP): continue from the server's offset, whatever the method.
      if (store.moveToQueued(record.guid, { restart: false, countAttempt: false, notBeforeMs: 0, lastError: null })) {
        resumed += 1;
      }
    } else if (record.method.toUpperCase() === 'POST') {
      const error = new TransferError(
        'BT_ERR_POST_TERMINATED',
        `POST upload ${record.guid} was interrupted when its process ended; POST uploads are terminated, not restarted (R12)`,
      );
      if (store.moveToFailed(record.guid, error.toJSON())) terminated += 1;
    } else if (
      store.moveToQueued(record.guid, { restart: true, countAttempt: false, notBeforeMs: 0, lastError: null })
    ) {
      restarted += 1;
    }
  }
  return { restarted, resumed, terminated };
}
