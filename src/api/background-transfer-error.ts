import type { WebErrorStatus } from '../core/enums.ts';
import { webErrorStatusForHresult } from '../core/hresult.ts';

/** BackgroundTransferError (E5, E6 in docs/windows-behaviour.md): HRESULT → WebErrorStatus. */
export const BackgroundTransferError = Object.freeze({
  getStatus(hresult: number): WebErrorStatus {
    return webErrorStatusForHresult(hresult);
  },
});
