import type { BackgroundTransferStatus } from './enums.ts';
import { BackgroundTransferStatus as S } from './enums.ts';

/**
 * The lifecycle of an operation as a pure table: (status, event) → status.
 * The store applies each event as one SQL statement guarded by `allowedFrom(event)`, so a transition
 * that races with another (a cancel during completion, say) fails instead of overwriting it.
 *
 * `idle` means "queued": started by the app and waiting for a slot (or for its retry delay).
 */
export type TransitionEvent =
  | 'start' // a slot is free: the engine begins a request
  | 'requeue' // the request ended without a result (retry, recovery after a crash)
  | 'complete' // 2xx final response
  | 'fail' // unrecoverable error (R43: status >= 400, or retries exhausted)
  | 'cancel' // app cancelled (R59, R60)
  | 'pause' // app paused (beyond Windows)
  | 'resume' // app resumed
  | 'loseNetwork' // no connectivity (R50)
  | 'meteredBlocked' // cost policy forbids the current network (R53)
  | 'networkAllowed' // connectivity / an allowed network is back
  | 'recoverableError'; // a download's error is one the app listed as recoverable: it waits for the app

const PAUSED: readonly BackgroundTransferStatus[] = [
  S.pausedByApplication,
  S.pausedCostedNetwork,
  S.pausedNoNetwork,
  S.pausedRecoverableWebErrorStatus,
];
const LIVE: readonly BackgroundTransferStatus[] = [S.idle, S.running, ...PAUSED];

const TABLE: Readonly<
  Record<TransitionEvent, { from: readonly BackgroundTransferStatus[]; to: BackgroundTransferStatus }>
> = {
  start: { from: [S.idle], to: S.running },
  requeue: { from: [S.running, S.idle], to: S.idle },
  complete: { from: [S.running], to: S.completed },
  fail: { from: LIVE, to: S.error },
  cancel: { from: LIVE, to: S.canceled },
  pause: { from: [S.idle, S.running, S.pausedCostedNetwork, S.pausedNoNetwork], to: S.pausedByApplication },
  // The app resumes a download it fixed (a new requestedUri) after a recoverable error, too.
  resume: { from: [S.pausedByApplication, S.pausedRecoverableWebErrorStatus], to: S.idle },
  loseNetwork: { from: [S.idle, S.running, S.pausedCostedNetwork], to: S.pausedNoNetwork },
  meteredBlocked: { from: [S.idle, S.running, S.pausedNoNetwork], to: S.pausedCostedNetwork },
  networkAllowed: { from: [S.pausedNoNetwork, S.pausedCostedNetwork], to: S.idle },
  recoverableError: { from: [S.idle, S.running], to: S.pausedRecoverableWebErrorStatus },
};

export function allowedFrom(event: TransitionEvent): readonly BackgroundTransferStatus[] {
  return TABLE[event].from;
}

export function targetOf(event: TransitionEvent): BackgroundTransferStatus {
  return TABLE[event].to;
}

/** The status after `event`, or null when the event is not allowed in `status`. */
export function nextStatus(status: BackgroundTransferStatus, event: TransitionEvent): BackgroundTransferStatus | null {
  const entry = TABLE[event];
  return entry.from.includes(status) ? entry.to : null;
}
