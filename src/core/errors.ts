import type { WebErrorStatus } from './enums.ts';
import { HRESULT, hresultForHttpStatus, toSigned, webErrorStatusForHresult } from './hresult.ts';
import { redactText } from './redact.ts';

/**
 * The error registry: one table, one class (docs/errors.md).
 * Every failure is a TransferError with a stable `code`, the Windows HRESULT in `number` (signed) and the
 * matching `webErrorStatus`. Codes survive IPC where `instanceof` does not, so users match on `code`.
 * docs/errors.md lists every code; test/unit/errors-docs.test.ts keeps the two in sync.
 */
interface ErrorDefinition {
  /** Unsigned HRESULT; HTTP status errors compute theirs per instance. */
  readonly hresult: number;
  /** Whether a fresh attempt of the same request may succeed (used by the retry policy). */
  readonly retryable: boolean;
  readonly summary: string;
}

export const ERROR_DEFINITIONS = Object.freeze({
  BT_ERR_INVALID_ARGUMENT: { hresult: HRESULT.E_INVALIDARG, retryable: false, summary: 'An argument is not valid.' },
  BT_ERR_INVALID_URI: {
    hresult: HRESULT.E_INVALIDARG,
    retryable: false,
    summary: 'The string is not an absolute URI.',
  },
  BT_ERR_UNSUPPORTED_SCHEME: {
    hresult: HRESULT.E_INVALIDARG,
    retryable: false,
    summary: 'The URI scheme is not http, https or ftp.',
  },
  BT_ERR_INVALID_HEADER: {
    hresult: HRESULT.E_INVALIDARG,
    retryable: false,
    summary: 'A request header name or value has invalid characters (CR, LF, NUL, or a non-token name).',
  },
  BT_ERR_INVALID_METHOD: {
    hresult: HRESULT.E_INVALIDARG,
    retryable: false,
    summary: 'The method is not an HTTP token.',
  },
  BT_ERR_FILE_NOT_FOUND: {
    hresult: HRESULT.ERROR_FILE_NOT_FOUND,
    retryable: false,
    summary: 'The source file does not exist.',
  },
  BT_ERR_NOT_A_FILE: {
    hresult: HRESULT.ERROR_DIRECTORY_NOT_SUPPORTED,
    retryable: false,
    summary: 'The source path is a directory or another non-regular file.',
  },
  BT_ERR_FILE_UNREADABLE: {
    hresult: HRESULT.E_ACCESSDENIED,
    retryable: false,
    summary: 'The source file cannot be read.',
  },
  BT_ERR_SOURCE_CHANGED: {
    hresult: HRESULT.ERROR_INVALID_DATA,
    retryable: false,
    summary: 'The source file changed (size or modification time) while it was being uploaded.',
  },
  BT_ERR_ILLEGAL_STATE: {
    hresult: HRESULT.E_ILLEGAL_METHOD_CALL,
    retryable: false,
    summary: 'The call is not allowed in the operation’s current state (e.g. startAsync twice, R3).',
  },
  BT_ERR_NOT_FOUND: {
    hresult: HRESULT.ERROR_NOT_FOUND,
    retryable: false,
    summary: 'No operation with that guid for this app.',
  },
  BT_ERR_CANCELED: {
    hresult: HRESULT.ERROR_CANCELLED,
    retryable: false,
    summary: 'The transfer was canceled (R59–R61).',
  },
  BT_ERR_POST_TERMINATED: {
    hresult: HRESULT.ERROR_OPERATION_ABORTED,
    retryable: false,
    summary: 'A POST upload was interrupted by the end of its process and is terminated, not restarted (R12, R13).',
  },
  BT_ERR_HTTP_STATUS: {
    hresult: HRESULT.HTTP_E_STATUS_BASE,
    retryable: false,
    summary: 'The server answered with an error status (>= 400).',
  },
  BT_ERR_REDIRECT_NOT_ALLOWED: {
    hresult: HRESULT.HTTP_E_STATUS_BASE,
    retryable: false,
    summary: 'The server redirected a body-bearing request with 301/302/303, which would drop the body.',
  },
  BT_ERR_TOO_MANY_REDIRECTS: {
    hresult: HRESULT.WININET_E_REDIRECT_FAILED,
    retryable: false,
    summary: 'More redirects than allowed.',
  },
  BT_ERR_INSECURE_REDIRECT: {
    hresult: HRESULT.WININET_E_HTTPS_TO_HTTP_ON_REDIR,
    retryable: false,
    summary: 'An https request was redirected to plain http.',
  },
  BT_ERR_CANNOT_CONNECT: {
    hresult: HRESULT.WININET_E_CANNOT_CONNECT,
    retryable: true,
    summary: 'The connection was refused or the host is unreachable.',
  },
  BT_ERR_HOST_NOT_RESOLVED: {
    hresult: HRESULT.WININET_E_NAME_NOT_RESOLVED,
    retryable: true,
    summary: 'The host name could not be resolved.',
  },
  BT_ERR_CONNECTION_RESET: {
    hresult: HRESULT.WININET_E_CONNECTION_RESET,
    retryable: true,
    summary: 'The connection was reset.',
  },
  BT_ERR_CONNECTION_ABORTED: {
    hresult: HRESULT.WININET_E_CONNECTION_ABORTED,
    retryable: true,
    summary: 'The connection was closed before the response ended.',
  },
  BT_ERR_TIMEOUT: {
    hresult: HRESULT.WININET_E_TIMEOUT,
    retryable: true,
    summary: 'Connecting or waiting for the response timed out (R47, R48).',
  },
  BT_ERR_INVALID_RESPONSE: {
    hresult: HRESULT.WININET_E_INVALID_SERVER_RESPONSE,
    retryable: true,
    summary: 'The server sent a response that is not valid HTTP.',
  },
  BT_ERR_CERT_EXPIRED: {
    hresult: HRESULT.WININET_E_SEC_CERT_DATE_INVALID,
    retryable: false,
    summary: 'The server certificate has expired or is not yet valid.',
  },
  BT_ERR_CERT_NAME_MISMATCH: {
    hresult: HRESULT.WININET_E_SEC_CERT_CN_INVALID,
    retryable: false,
    summary: 'The server certificate is for another host name.',
  },
  BT_ERR_CERT_UNTRUSTED: {
    hresult: HRESULT.WININET_E_SEC_INVALID_CERT,
    retryable: false,
    summary: 'The server certificate is not signed by a trusted CA.',
  },
  BT_ERR_CERT_REVOKED: {
    hresult: HRESULT.WININET_E_SEC_CERT_REVOKED,
    retryable: false,
    summary: 'The server certificate has been revoked.',
  },
  BT_ERR_CERT_INVALID: {
    hresult: HRESULT.WININET_E_SEC_CERT_ERRORS,
    retryable: false,
    summary: 'The server certificate has other errors.',
  },
  BT_ERR_NETWORK: {
    hresult: HRESULT.WININET_E_DISCONNECTED,
    retryable: true,
    summary: 'Another network error ended the request.',
  },
  BT_ERR_STALLED: {
    hresult: HRESULT.WININET_E_TIMEOUT,
    retryable: true,
    summary: 'The connection accepted no request-body bytes for stallTimeoutMs while the body was being sent.',
  },
  BT_ERR_RESUME_LOST: {
    hresult: HRESULT.ERROR_NOT_FOUND,
    retryable: false,
    summary: 'The resumable-upload server no longer knows the upload (404/410 on HEAD); it must start again from 0.',
  },
  BT_ERR_OFFSET_MISMATCH: {
    hresult: HRESULT.ERROR_INVALID_DATA,
    retryable: true,
    summary: 'The resumable-upload server kept rejecting the offset the client sent (409 Conflict).',
  },
  BT_ERR_CHECKSUM_MISMATCH: {
    hresult: HRESULT.ERROR_INVALID_DATA,
    retryable: true,
    summary:
      'The server kept refusing the bytes as altered in flight: a tus server answered 460 (checksum mismatch) to a chunk, or a server checking Repr-Digest answered 400 (digest mismatch), every time.',
  },
  BT_ERR_BAD_OFFSET: {
    hresult: HRESULT.ERROR_INVALID_DATA,
    retryable: true,
    summary:
      'A resumable-upload server sent an Upload-Offset that is malformed or impossible (beyond what was sent, behind what it acknowledged).',
  },
  BT_ERR_UPLOAD_LIMIT: {
    // ERROR_FILE_TOO_LARGE (winerror.h 223), as BT_ERR_SPOOL_LIMIT.
    hresult: 0x800700df,
    retryable: false,
    summary:
      'The server’s limits do not allow this upload (Upload-Limit: max-size smaller than the body, or append limits that contradict each other; or a 413 that smaller requests did not get past).',
  },
  BT_ERR_UPLOAD_REJECTED: {
    hresult: HRESULT.E_FAIL,
    retryable: false,
    summary:
      'A resumable-upload server answered an error with Upload-Complete: ?1: the upload ended there and is not resumed.',
  },
  BT_ERR_UPLOAD_COMPLETED: {
    hresult: HRESULT.ERROR_INVALID_DATA,
    retryable: false,
    summary:
      'The server says the upload resource is no longer available (410 Gone to an append): the body is not sent again.',
  },
  // FTP (beyond Windows R7). WinINet reports an FTP server's error reply as ERROR_INTERNET_EXTENDED_ERROR
  // (12003) and a refused login as ERROR_INTERNET_LOGIN_FAILURE (12015); hresult.ts has no names for
  // them yet, so the values are written out here.
  BT_ERR_FTP: {
    hresult: 0x80072ee3,
    retryable: true,
    summary: 'The FTP server answered with a transient error reply (4xx, e.g. 421, 425, 426, 450, 451).',
  },
  BT_ERR_FTP_PERMANENT: {
    hresult: 0x80072ee3,
    retryable: false,
    summary: 'The FTP server answered with a permanent error reply (5xx other than 530).',
  },
  BT_ERR_AUTH_FAILED: {
    hresult: 0x80072eef,
    retryable: false,
    summary: 'The server refused the login (FTP 530).',
  },
  BT_ERR_IO: {
    hresult: HRESULT.ERROR_WRITE_FAULT,
    retryable: false,
    summary: 'A local file could not be read or written (e.g. the disk is full).',
  },
  BT_ERR_DIGEST_MISMATCH: {
    hresult: HRESULT.ERROR_INVALID_DATA,
    retryable: true,
    summary: 'A downloaded body does not match the digest the server or the app gave; the partial file was discarded.',
  },
  BT_ERR_CONTENT_RANGE: {
    hresult: HRESULT.WININET_E_INVALID_SERVER_RESPONSE,
    retryable: true,
    summary: 'A resumed download got a 206 whose Content-Range does not continue the partial file.',
  },
  BT_ERR_DISK_FULL: {
    // ERROR_DISK_FULL (winerror.h 112); not in HRESULT (src/core/hresult.ts) yet.
    hresult: 0x80070070,
    retryable: true,
    summary: "The disk of a download's result file is full; the download waits and resumes when space returns.",
  },
  BT_ERR_SPOOL_LIMIT: {
    // ERROR_FILE_TOO_LARGE (winerror.h 223); not in HRESULT (src/core/hresult.ts) yet.
    hresult: 0x800700df,
    retryable: false,
    summary: 'The stream given to createUploadFromStreamAsync is longer than the spool limit.',
  },
  BT_ERR_LIMIT_EXCEEDED: {
    hresult: HRESULT.E_INVALIDARG,
    retryable: false,
    summary: 'An app has more live operations or transfer groups than the settings allow (R28, R29).',
  },
  BT_ERR_CONFIG_INVALID: {
    hresult: HRESULT.E_INVALIDARG,
    retryable: false,
    summary: 'config.json has an unknown key or a bad value.',
  },
  BT_ERR_HOME_IN_USE: {
    hresult: HRESULT.ERROR_SHARING_VIOLATION,
    retryable: false,
    summary: 'Another live process runs the engine for this BGTRANSFER_HOME.',
  },
  BT_ERR_STORE: { hresult: HRESULT.E_FAIL, retryable: false, summary: 'The SQLite store failed.' },
  BT_ERR_STORE_REPLACED: {
    hresult: HRESULT.E_FAIL,
    retryable: false,
    summary: 'The store this home had is gone, empty or another database; the host refuses to start afresh.',
  },
  BT_ERR_HOME_UNSAFE: {
    hresult: HRESULT.E_ACCESSDENIED,
    retryable: false,
    summary:
      'BGTRANSFER_HOME or a file in it is a link, not the kind of file expected, owned by another user, or open to others.',
  },
  BT_ERR_BOUNDARY_IN_CONTENT: {
    hresult: HRESULT.ERROR_INVALID_DATA,
    retryable: false,
    summary: 'The multipart boundary delimiter occurs inside a file part (found while it is sent).',
  },
  BT_ERR_HOST_UNREACHABLE: {
    hresult: HRESULT.E_FAIL,
    retryable: false,
    summary: 'The transfer host could not be reached or started, or the connection to it was lost mid-call.',
  },
  BT_ERR_IPC_PROTOCOL: {
    hresult: HRESULT.E_INVALIDARG,
    retryable: false,
    summary: 'A message between an app and the transfer host broke the wire protocol (bad frame, version mismatch).',
  },
  BT_ERR_INTERNAL: {
    hresult: HRESULT.E_UNEXPECTED,
    retryable: false,
    summary: 'An internal error (a bug): please report it.',
  },
} satisfies Record<string, ErrorDefinition>);

export type ErrorCode = keyof typeof ERROR_DEFINITIONS;

export interface TransferErrorOptions {
  /** For BT_ERR_HTTP_STATUS / BT_ERR_REDIRECT_NOT_ALLOWED / BT_ERR_UPLOAD_REJECTED: the HTTP status that becomes the HRESULT. */
  httpStatus?: number;
  cause?: unknown;
  /**
   * This failure's own verdict, overriding its code's: a download's digest mismatch is retryable as
   * transit corruption once, but final when a fresh fetch of the whole body gave the same bytes again.
   */
  retryable?: boolean;
}

/** The one error class of bgtransfer. */
export class TransferError extends Error {
  readonly code: ErrorCode;
  /** The Windows HRESULT as a signed 32-bit integer (e.g. HTTP 404 → 0x80190194 | 0). */
  readonly number: number;
  readonly webErrorStatus: WebErrorStatus;
  readonly retryable: boolean;
  readonly httpStatus: number | undefined;

  constructor(code: ErrorCode, message: string, options: TransferErrorOptions = {}) {
    // Every message goes through here, so this is where secrets leave it: a URL's userinfo, signed
    // query values, credential headers (core/redact.ts). Messages are built from URLs in many places;
    // one filter here cannot be forgotten by the next one.
    super(redactText(message), options.cause === undefined ? undefined : { cause: options.cause });
    const definition: ErrorDefinition = ERROR_DEFINITIONS[code];
    this.name = code === 'BT_ERR_CANCELED' ? 'Canceled' : 'TransferError';
    this.code = code;
    this.httpStatus = options.httpStatus;
    this.number =
      options.httpStatus === undefined ? toSigned(definition.hresult) : hresultForHttpStatus(options.httpStatus);
    this.webErrorStatus = webErrorStatusForHresult(this.number);
    this.retryable = options.retryable ?? definition.retryable;
  }

  /** The plain form that crosses the store and IPC. */
  toJSON(): SerializedTransferError {
    return { code: this.code, message: this.message, httpStatus: this.httpStatus };
  }

  static fromJSON(value: SerializedTransferError): TransferError {
    const code: ErrorCode = value.code in ERROR_DEFINITIONS ? value.code : 'BT_ERR_INTERNAL';
    return new TransferError(
      code,
      value.message,
      value.httpStatus === undefined ? {} : { httpStatus: value.httpStatus },
    );
  }
}

export interface SerializedTransferError {
  code: ErrorCode;
  message: string;
  httpStatus?: number | undefined;
}

export function isTransferError(value: unknown): value is TransferError {
  return value instanceof TransferError;
}

/** Wraps anything thrown into a TransferError, keeping coded errors as they are. */
export function toTransferError(value: unknown, fallback: ErrorCode = 'BT_ERR_INTERNAL'): TransferError {
  if (value instanceof TransferError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new TransferError(fallback, message, { cause: value });
}
