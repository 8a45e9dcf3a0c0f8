import { toTransferError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { OperationRecord, ProgressUpdate } from '../store/operation-record.ts';
import type { OperationStore } from '../store/operation-store.ts';
import type { StopReason } from './live-transfer.ts';
import { decideRetry, type RetryPolicy } from './retry-policy.ts';
import type { AttemptOutcome } from './run-attempt.ts';

/** What turning an attempt's end into a stored transition needs. */
export interface OutcomeContext {
  store: OperationStore;
  retryPolicy: RetryPolicy;
  /** Whether the host sees connectivity now (R50). */
  connected(): boolean;
  now(): number;
  random(): number;
  log: Logger;
}

/**
 * An attempt ended by itself: completed, retried with back-off, waiting for the network, or failed;
 * `progress` is the request's last counters, stored with it.
 * Returns the record to publish (null when a concurrent transition — a cancel — got there first).
 */
export function recordOutcome(
  context: OutcomeContext,
  guid: string,
  outcome: AttemptOutcome,
  ackAtStart: number,
  progress: ProgressUpdate,
): OperationRecord | null {
  const { store } = context;
  // The request's last counters go with the move: one write for a small upload's whole ending.
  if (outcome.kind === 'completed') return store.moveToCompleted(guid, { progress, extras: outcome.extras });
  store.recordProgress(guid, progress);
  const error = toTransferError(outcome.error);
  const current = store.getOperation(guid);
  if (!current) return null;
  const restart = current.extras.session === null;
  // R50: a network failure while the host sees no connectivity waits for the network, spending no attempt.
  if (error.retryable && error.httpStatus === undefined && !context.connected()) {
    store.markInterrupted(guid, restart);
    return store.applyEvent(guid, 'loseNetwork');
  }
  // Windows' RecoverableWebErrorStatuses: the download waits for its app (a new URI, then resume).
  if (current.direction === 'download' && current.extras.recoverableWebErrorStatuses.includes(error.webErrorStatus)) {
    context.log.info({ guid, code: error.code }, 'download paused on a recoverable error');
    store.moveToQueued(guid, { restart: false, countAttempt: false, notBeforeMs: 0, lastError: error.toJSON() });
    return store.applyEvent(guid, 'recoverableError');
  }
  // A full disk is not the server's doing: the download waits for space, spending no attempt, and
  // keeps the coded error for the app to see (docs/downloads.md, "Disk full").
  if (error.code === 'BT_ERR_DISK_FULL') {
    const delayMs = Math.min(context.retryPolicy.maxDelayMs, context.retryPolicy.retryBaseDelayMs * 10);
    context.log.info({ guid, delayMs }, 'disk full; waiting for space');
    return store.moveToQueued(guid, {
      restart: false,
      countAttempt: false,
      notBeforeMs: context.now() + delayMs,
      lastError: error.toJSON(),
    });
  }
  // The count starts over when the server acknowledged new bytes in this attempt.
  const progressed = current.ackOffset > ackAtStart;
  const attemptsMade = progressed ? 1 : current.attempts + 1;
  const decision = decideRetry(error, attemptsMade, context.retryPolicy, outcome.retryAfterMs, context.random());
  if (decision.kind === 'retry') {
    context.log.info({ guid, code: error.code, delayMs: decision.delayMs, attemptsMade }, 'retrying upload');
    return store.moveToQueued(guid, {
      restart,
      countAttempt: true,
      resetAttempts: progressed,
      notBeforeMs: context.now() + decision.delayMs,
      lastError: error.toJSON(),
    });
  }
  context.log.info({ guid, code: error.code }, 'upload failed');
  return store.moveToFailed(guid, error.toJSON());
}

/**
 * A request stopped by the engine itself. Cancel and shutdown leave the stored state as it is; a pause
 * or a network stop keeps the status set before the stop, and — unless a resumable session exists — the
 * next request starts from byte 0 (R38, R53); a preempted one (R32) waits in the queue again. When it
 * goes on from where it is, `progress` (the stopped request's last counters) is stored: a paused
 * download shows the bytes it made durable, not what was stored some seconds before.
 * Returns the record to publish, if any.
 */
export function recordStop(
  store: OperationStore,
  guid: string,
  reason: StopReason,
  progress: ProgressUpdate,
): OperationRecord | null {
  const record = store.getOperation(guid);
  if (!record) return null;
  const restart = record.extras.session === null;
  if (reason === 'preempt') {
    if (!restart) store.recordProgress(guid, progress);
    return store.moveToQueued(guid, { restart, countAttempt: false, notBeforeMs: 0 });
  }
  if (reason === 'pause' || reason === 'network') {
    store.markInterrupted(guid, restart, progress);
    return store.getOperation(guid) ?? null;
  }
  return null;
}
