import type { OperationExtras, RequestExtras } from './operation-extras.ts';

/**
 * The extras of an operation nobody configured. Apart from the schema in operation-extras.ts, so that
 * the app-side classes can use them without loading zod (the library stays light in socket mode).
 */
export const DEFAULT_EXTRAS: Readonly<OperationExtras> = Object.freeze<OperationExtras>({
  body: { kind: 'file' },
  resumeProtocol: 'auto',
  ietfInteropVersion: 6,
  sendContentDigest: false,
  tusParallelUploads: 1,
  contentDigest: null,
  session: null,
  probedPlain: false,
  tusSha256Checksum: false,
  serverCredential: null,
  proxyCredential: null,
  successNotification: null,
  failureNotification: null,
  notificationBatchId: null,
  completionGroupId: null,
  isRandomAccessRequired: false,
  recoverableWebErrorStatuses: [],
  expectedContentDigest: null,
  idempotencyKey: null,
  creationPending: false,
  proxyEnv: null,
});

/** What an app asks for when it configured nothing (the start request's extras). */
export const DEFAULT_REQUEST_EXTRAS: Readonly<RequestExtras> = Object.freeze<RequestExtras>({
  body: { kind: 'file' },
  resumeProtocol: 'auto',
  serverCredential: null,
  proxyCredential: null,
  successNotification: null,
  failureNotification: null,
  notificationBatchId: null,
  completionGroupId: null,
  isRandomAccessRequired: false,
  recoverableWebErrorStatuses: [],
  expectedContentDigest: null,
  ietfInteropVersion: 6,
  sendContentDigest: false,
  tusParallelUploads: 1,
  proxyEnv: null,
});
