import type { OperationExtras } from './operation-extras.ts';

/**
 * The extras of an operation nobody configured. Apart from the schema in operation-extras.ts, so that
 * the app-side classes can use them without loading zod (the library stays light in socket mode).
 */
export const DEFAULT_EXTRAS: Readonly<OperationExtras> = Object.freeze<OperationExtras>({
  body: { kind: 'file' },
  resumeProtocol: 'auto',
  session: null,
  probedPlain: false,
  serverCredential: null,
  proxyCredential: null,
  successNotification: null,
  failureNotification: null,
  notificationBatchId: null,
  completionGroupId: null,
});
