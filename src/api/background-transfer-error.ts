import type { WebErrorStatus } from '../core/enums.ts';
import { webErrorStatusForHresult } from '../core/hresult.ts';

/** BackgroundTransferError (reference §2.11, E5, E6): HRESULT → WebErrorStatus. */
export const BackgroundTransferError = Object.freeze({
  getStatus(hresult: number): WebErrorStatus {
    return webErrorStatusForHresult(hresult);
  },
});
