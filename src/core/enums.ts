/**
 * The Windows enums of Windows.Networking.BackgroundTransfer and Windows.Web, as frozen objects with
 * camelCase members and the Windows numeric values (docs/api/enums.md).
 */

/** BackgroundTransferStatus. */
export const BackgroundTransferStatus = Object.freeze({
  idle: 0,
  running: 1,
  pausedByApplication: 2,
  pausedCostedNetwork: 3,
  pausedNoNetwork: 4,
  completed: 5,
  canceled: 6,
  error: 7,
  pausedRecoverableWebErrorStatus: 8,
  pausedSystemPolicy: 32,
} as const);
export type BackgroundTransferStatus = (typeof BackgroundTransferStatus)[keyof typeof BackgroundTransferStatus];

/** BackgroundTransferCostPolicy. */
export const BackgroundTransferCostPolicy = Object.freeze({
  default: 0,
  unrestrictedOnly: 1,
  always: 2,
} as const);
export type BackgroundTransferCostPolicy =
  (typeof BackgroundTransferCostPolicy)[keyof typeof BackgroundTransferCostPolicy];

/** BackgroundTransferPriority. */
export const BackgroundTransferPriority = Object.freeze({
  default: 0,
  high: 1,
  low: 2,
} as const);
export type BackgroundTransferPriority = (typeof BackgroundTransferPriority)[keyof typeof BackgroundTransferPriority];

/** BackgroundTransferBehavior. */
export const BackgroundTransferBehavior = Object.freeze({
  parallel: 0,
  serialized: 1,
} as const);
export type BackgroundTransferBehavior = (typeof BackgroundTransferBehavior)[keyof typeof BackgroundTransferBehavior];

/** Windows.Web.WebErrorStatus, complete. Values 300–505 equal the HTTP status. */
export const WebErrorStatus = Object.freeze({
  unknown: 0,
  certificateCommonNameIsIncorrect: 1,
  certificateExpired: 2,
  certificateContainsErrors: 3,
  certificateRevoked: 4,
  certificateIsInvalid: 5,
  serverUnreachable: 6,
  timeout: 7,
  errorHttpInvalidServerResponse: 8,
  connectionAborted: 9,
  connectionReset: 10,
  disconnected: 11,
  httpToHttpsOnRedirection: 12,
  httpsToHttpOnRedirection: 13,
  cannotConnect: 14,
  hostNameNotResolved: 15,
  operationCanceled: 16,
  redirectFailed: 17,
  unexpectedStatusCode: 18,
  unexpectedRedirection: 19,
  unexpectedClientError: 20,
  unexpectedServerError: 21,
  insufficientRangeSupport: 22,
  missingContentLengthSupport: 23,
  multipleChoices: 300,
  movedPermanently: 301,
  found: 302,
  seeOther: 303,
  notModified: 304,
  useProxy: 305,
  temporaryRedirect: 307,
  badRequest: 400,
  unauthorized: 401,
  paymentRequired: 402,
  forbidden: 403,
  notFound: 404,
  methodNotAllowed: 405,
  notAcceptable: 406,
  proxyAuthenticationRequired: 407,
  requestTimeout: 408,
  conflict: 409,
  gone: 410,
  lengthRequired: 411,
  preconditionFailed: 412,
  requestEntityTooLarge: 413,
  requestUriTooLong: 414,
  unsupportedMediaType: 415,
  requestedRangeNotSatisfiable: 416,
  expectationFailed: 417,
  internalServerError: 500,
  notImplemented: 501,
  badGateway: 502,
  serviceUnavailable: 503,
  gatewayTimeout: 504,
  httpVersionNotSupported: 505,
} as const);
export type WebErrorStatus = (typeof WebErrorStatus)[keyof typeof WebErrorStatus];

/** Statuses after which an operation never changes again. */
export const TERMINAL_STATUSES: ReadonlySet<BackgroundTransferStatus> = new Set([
  BackgroundTransferStatus.completed,
  BackgroundTransferStatus.canceled,
  BackgroundTransferStatus.error,
]);

export function isTerminalStatus(status: BackgroundTransferStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}
