import { WebErrorStatus } from './enums.ts';

/**
 * HRESULT values (winerror.h) used by bgtransfer errors, as unsigned 32-bit numbers; `toSigned`
 * gives the signed form that `error.number` carries (docs/api/background-transfer-error.md, docs/windows-behaviour.md).
 */
export const HRESULT = Object.freeze({
  E_INVALIDARG: 0x80070057,
  E_ACCESSDENIED: 0x80070005,
  E_FAIL: 0x80004005,
  E_UNEXPECTED: 0x8000ffff,
  E_ILLEGAL_METHOD_CALL: 0x8000000e,
  ERROR_FILE_NOT_FOUND: 0x80070002,
  ERROR_INVALID_DATA: 0x8007000d,
  ERROR_SHARING_VIOLATION: 0x80070020,
  ERROR_DIRECTORY_NOT_SUPPORTED: 0x80070150,
  ERROR_OPERATION_ABORTED: 0x800703e3,
  ERROR_CANCELLED: 0x800704c7,
  ERROR_NOT_FOUND: 0x80070490,
  ERROR_WRITE_FAULT: 0x8007001d,
  HTTP_E_STATUS_BASE: 0x80190000,
  WININET_E_TIMEOUT: 0x80072ee2,
  WININET_E_NAME_NOT_RESOLVED: 0x80072ee7,
  WININET_E_OPERATION_CANCELLED: 0x80072ef1,
  WININET_E_CANNOT_CONNECT: 0x80072efd,
  WININET_E_CONNECTION_ABORTED: 0x80072efe,
  WININET_E_CONNECTION_RESET: 0x80072eff,
  WININET_E_SEC_CERT_DATE_INVALID: 0x80072f05,
  WININET_E_SEC_CERT_CN_INVALID: 0x80072f06,
  WININET_E_HTTP_TO_HTTPS_ON_REDIR: 0x80072f07,
  WININET_E_HTTPS_TO_HTTP_ON_REDIR: 0x80072f08,
  WININET_E_SEC_CERT_ERRORS: 0x80072f17,
  WININET_E_INVALID_SERVER_RESPONSE: 0x80072f78,
  WININET_E_REDIRECT_FAILED: 0x80072f7c,
  WININET_E_DISCONNECTED: 0x80072f83,
  WININET_E_SERVER_UNREACHABLE: 0x80072f84,
  WININET_E_SEC_INVALID_CERT: 0x80072f89,
  WININET_E_SEC_CERT_REVOKED: 0x80072f8a,
} as const);

/** The signed 32-bit form of an HRESULT, as WinRT's JavaScript projection reports `err.number`. */
export function toSigned(hresult: number): number {
  return hresult | 0;
}

/** HTTP status → HRESULT: HTTP_E_STATUS_* = 0x80190000 + status (docs/windows-behaviour.md). */
export function hresultForHttpStatus(status: number): number {
  return toSigned(HRESULT.HTTP_E_STATUS_BASE + status);
}

/** The WinINet HRESULTs that convert to a WebErrorStatus (docs/windows-behaviour.md, by name). */
const WININET_TO_STATUS: ReadonlyMap<number, WebErrorStatus> = new Map<number, WebErrorStatus>([
  [HRESULT.WININET_E_TIMEOUT, WebErrorStatus.timeout],
  [HRESULT.WININET_E_NAME_NOT_RESOLVED, WebErrorStatus.hostNameNotResolved],
  [HRESULT.WININET_E_OPERATION_CANCELLED, WebErrorStatus.operationCanceled],
  [HRESULT.WININET_E_CANNOT_CONNECT, WebErrorStatus.cannotConnect],
  [HRESULT.WININET_E_CONNECTION_ABORTED, WebErrorStatus.connectionAborted],
  [HRESULT.WININET_E_CONNECTION_RESET, WebErrorStatus.connectionReset],
  [HRESULT.WININET_E_SEC_CERT_DATE_INVALID, WebErrorStatus.certificateExpired],
  [HRESULT.WININET_E_SEC_CERT_CN_INVALID, WebErrorStatus.certificateCommonNameIsIncorrect],
  [HRESULT.WININET_E_HTTP_TO_HTTPS_ON_REDIR, WebErrorStatus.httpToHttpsOnRedirection],
  [HRESULT.WININET_E_HTTPS_TO_HTTP_ON_REDIR, WebErrorStatus.httpsToHttpOnRedirection],
  [HRESULT.WININET_E_SEC_CERT_ERRORS, WebErrorStatus.certificateContainsErrors],
  [HRESULT.WININET_E_INVALID_SERVER_RESPONSE, WebErrorStatus.errorHttpInvalidServerResponse],
  [HRESULT.WININET_E_REDIRECT_FAILED, WebErrorStatus.redirectFailed],
  [HRESULT.WININET_E_DISCONNECTED, WebErrorStatus.disconnected],
  [HRESULT.WININET_E_SERVER_UNREACHABLE, WebErrorStatus.serverUnreachable],
  [HRESULT.WININET_E_SEC_INVALID_CERT, WebErrorStatus.certificateIsInvalid],
  [HRESULT.WININET_E_SEC_CERT_REVOKED, WebErrorStatus.certificateRevoked],
]);

const HTTP_STATUS_VALUES: ReadonlySet<number> = new Set(Object.values(WebErrorStatus).filter((value) => value >= 300));

/**
 * BackgroundTransferError.GetStatus: "most HRESULTs convert; some do not (→ Unknown)" (E5).
 * HTTP_E_STATUS_* map to the WebErrorStatus member equal to the HTTP status; the WinINet codes map by
 * name; everything else (E_INVALIDARG, a cancel, …) is `unknown`.
 */
export function webErrorStatusForHresult(hresult: number): WebErrorStatus {
  const unsigned = hresult >>> 0;
  const httpStatus = unsigned - HRESULT.HTTP_E_STATUS_BASE;
  if (httpStatus >= 300 && httpStatus <= 505 && HTTP_STATUS_VALUES.has(httpStatus)) {
    return httpStatus as WebErrorStatus;
  }
  return WININET_TO_STATUS.get(unsigned) ?? WebErrorStatus.unknown;
}
