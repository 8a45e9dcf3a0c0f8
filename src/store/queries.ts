import { BackgroundTransferStatus, TERMINAL_STATUSES } from '../core/enums.ts';
import { allowedFrom, type TransitionEvent, targetOf } from '../core/transitions.ts';
import { OPERATION_COLUMNS } from './record-mapping.ts';

/**
 * Every SQL statement of SqliteOperationStore, as named constants built once from pure data (the schema's
 * column list and the transition table). No database here: sqlite-store.ts prepares and caches them.
 *
 * Statuses are inlined as integer literals: they come from our own frozen tables, never from a caller,
 * and inlining keeps each guard a constant the query planner can use with the (status, …) index.
 */

function statusList(statuses: Iterable<BackgroundTransferStatus>): string {
  const values = [...statuses];
  for (const value of values) {
    if (!Number.isInteger(value)) throw new Error(`status ${String(value)} is not an integer`);
  }
  return values.join(', ');
}

/**
 * The guard that makes a transition atomic and race-proof: the UPDATE only matches while the operation is
 * in one of the statuses the table allows for `event` (core/transitions.ts); 0 changed rows → refused.
 */
function guard(event: TransitionEvent): string {
  return `status IN (${statusList(allowedFrom(event))})`;
}

const NOT_TERMINAL = `status NOT IN (${statusList(TERMINAL_STATUSES)})`;
/** The same set as a positive list, so the (appId, status) index can answer per-app counts. */
const LIVE = `status IN (${statusList(
  Object.values(BackgroundTransferStatus).filter((status) => !TERMINAL_STATUSES.has(status)),
)})`;
const RUNNING = `status = ${BackgroundTransferStatus.running}`;
const SELECT_OPERATION = `SELECT ${OPERATION_COLUMNS.join(', ')} FROM operations`;

/** Appends to the queue: seq is one more than any operation's, computed inside the INSERT's transaction. */
const INSERT_VALUES = OPERATION_COLUMNS.map((column) =>
  column === 'seq' ? '(SELECT COALESCE(MAX(seq), 0) + 1 FROM operations)' : `@${column}`,
);

/** The events applied by `applyEvent`: status-only transitions, each guarded by the table. */
export const STATUS_EVENTS = [
  'pause',
  'resume',
  'loseNetwork',
  'meteredBlocked',
  'networkAllowed',
  'recoverableError',
] as const;
export type StatusEvent = (typeof STATUS_EVENTS)[number];

export function statusEventSql(event: StatusEvent): string {
  return `UPDATE operations SET status = ${targetOf(event)}, updatedAtMs = @now WHERE guid = @guid AND ${guard(event)}`;
}

export const SQL = Object.freeze({
  /** Named parameters: every OperationRow column except seq. */
  insertOperation: `INSERT INTO operations (${OPERATION_COLUMNS.join(', ')}) VALUES (${INSERT_VALUES.join(', ')})`,
  selectOperation: `${SELECT_OPERATION} WHERE guid = ?`,

  // The enumerations of one app (R22–R24) are in list-queries.ts.
  /** One parameter: a JSON array of statuses, so one cached statement serves every list length. */
  listByStatus: `${SELECT_OPERATION} WHERE status IN (SELECT value FROM json_each(?)) ORDER BY seq`,
  hasStatus: 'SELECT EXISTS (SELECT 1 FROM operations WHERE status IN (SELECT value FROM json_each(?))) AS found',

  /** idle → running; a new attempt starts, so the previous attempt's error is no longer current. */
  moveToRunning: `UPDATE operations SET status = ${targetOf('start')}, errorJson = NULL, updatedAtMs = @now
    WHERE guid = @guid AND ${guard('start')}`,
  /**
   * running|idle → idle. @restart (0/1): the next request starts at byte 0, so the counters of this
   * request are dropped and hasRestarted flags it for one progress report (R38). @attemptIncrement is 0
   * or 1. @replaceError 0 keeps the stored error (no lastError given), 1 stores @errorJson (maybe NULL).
   */
  moveToQueued: `UPDATE operations SET status = ${targetOf('requeue')},
      bytesSent = CASE WHEN @restart = 1 THEN 0 ELSE bytesSent END,
      bytesReceived = CASE WHEN @restart = 1 THEN 0 ELSE bytesReceived END,
      totalBytesToReceive = CASE WHEN @restart = 1 THEN 0 ELSE totalBytesToReceive END,
      hasRestarted = CASE WHEN @restart = 1 THEN 1 ELSE hasRestarted END,
      attempts = CASE WHEN @resetAttempts = 1 THEN @attemptIncrement ELSE attempts + @attemptIncrement END,
      notBeforeMs = @notBeforeMs,
      errorJson = CASE WHEN @replaceError = 1 THEN @errorJson ELSE errorJson END,
      updatedAtMs = @now
    WHERE guid = @guid AND ${guard('requeue')}`,
  /**
   * @final 1: the request's last counters and its extras (the content digest) are stored with the
   * move, as recordProgress and updateExtras would (one write instead of three per small upload).
   */
  moveToCompleted: `UPDATE operations SET status = ${targetOf('complete')}, updatedAtMs = @now,
      bytesSent = CASE WHEN @final = 1 THEN @bytesSent ELSE bytesSent END,
      bytesReceived = CASE WHEN @final = 1 THEN @bytesReceived ELSE bytesReceived END,
      totalBytesToReceive = CASE WHEN @final = 1 THEN @totalBytesToReceive ELSE totalBytesToReceive END,
      hasRestarted = CASE WHEN @final = 1 THEN 0 ELSE hasRestarted END,
      hasResponseChanged = CASE WHEN @final = 1 THEN 0 ELSE hasResponseChanged END,
      extrasJson = COALESCE(@extrasJson, extrasJson)
    WHERE guid = @guid AND ${guard('complete')}`,
  moveToFailed: `UPDATE operations SET status = ${targetOf('fail')}, errorJson = @errorJson, updatedAtMs = @now
    WHERE guid = @guid AND ${guard('fail')}`,
  moveToCanceled: `UPDATE operations SET status = ${targetOf('cancel')}, updatedAtMs = @now
    WHERE guid = @guid AND ${guard('cancel')}`,

  /** Only while running: a late report from an aborted request must not touch a paused or finished operation. */
  recordProgress: `UPDATE operations SET bytesSent = @bytesSent, bytesReceived = @bytesReceived,
      totalBytesToReceive = @totalBytesToReceive, hasRestarted = 0, hasResponseChanged = 0, updatedAtMs = @now
    WHERE guid = @guid AND ${RUNNING}`,
  /** R39, R41: a new response object; the body that follows is counted from 0. Only while running. */
  recordResponse: `UPDATE operations SET responseJson = @responseJson, responseVersion = responseVersion + 1,
      hasResponseChanged = 1, totalBytesToReceive = @totalBytesToReceive, bytesReceived = 0, updatedAtMs = @now
    WHERE guid = @guid AND ${RUNNING}`,
  /** R35: a new request's response body starts from 0. Finished operations keep their final counters. */
  resetReceived: `UPDATE operations SET bytesReceived = 0, totalBytesToReceive = 0, updatedAtMs = @now
    WHERE guid = @guid AND ${NOT_TERMINAL}`,
  /** R52, R31, R64: a NULL parameter leaves that property unchanged. */
  updateProperties: `UPDATE operations SET costPolicy = COALESCE(@costPolicy, costPolicy),
      priority = COALESCE(@priority, priority), headersJson = COALESCE(@headersJson, headersJson),
      requestedUri = COALESCE(@requestedUri, requestedUri), updatedAtMs = @now
    WHERE guid = @guid AND ${NOT_TERMINAL}`,

  /**
   * Status-only transitions (pause, resume, network lost/allowed, metered). @event names the
   * table entry; one statement per event is prepared from EVENT_TRANSITIONS below.
   */
  /**
   * A request was stopped without a status change (pause, network loss, cost policy). @restart 1: the
   * next request starts at byte 0 (no resumable session), so counters drop and hasRestarted flags the
   * first report of that request (R38). Otherwise, @counted 1: the stopped request's last counters
   * are stored (the status already left running, so recordProgress no longer would).
   */
  markInterrupted: `UPDATE operations SET
      bytesSent = CASE WHEN @restart = 1 THEN 0 WHEN @counted = 1 THEN @bytesSent ELSE bytesSent END,
      bytesReceived = CASE WHEN @restart = 1 THEN 0 WHEN @counted = 1 THEN @bytesReceived ELSE bytesReceived END,
      totalBytesToReceive = CASE WHEN @restart = 1 THEN 0
        WHEN @counted = 1 THEN @totalBytesToReceive ELSE totalBytesToReceive END,
      hasRestarted = CASE WHEN @restart = 1 THEN 1 ELSE hasRestarted END,
      updatedAtMs = @now
    WHERE guid = @guid AND ${NOT_TERMINAL}`,
  /** The server acknowledged @ackOffset bytes (a resume starts there); never while finished. */
  recordAcknowledged: `UPDATE operations SET ackOffset = @ackOffset, updatedAtMs = @now
    WHERE guid = @guid AND ${NOT_TERMINAL}`,
  /** OperationExtras are written whole; allowed in any status (a finished upload's session is cleared). */
  updateExtras: `UPDATE operations SET extrasJson = @extrasJson, updatedAtMs = @now WHERE guid = @guid`,

  insertCompletionGroup: `INSERT INTO completionGroups (id, appId, taskJson, enabled, createdAtMs)
    VALUES (@id, @appId, @taskJson, 0, @now)`,
  selectCompletionGroup: 'SELECT id, appId, taskJson, enabled, firedAtMs FROM completionGroups WHERE id = ?',
  /** R80: enabled once; a second enable changes nothing (the API reports it). */
  enableCompletionGroup: 'UPDATE completionGroups SET enabled = 1 WHERE id = ? AND enabled = 0',
  /** R81: fires once: only the first caller sees a change. */
  markCompletionGroupFired: 'UPDATE completionGroups SET firedAtMs = @now WHERE id = @id AND firedAtMs IS NULL',
  listPendingCompletionGroups: `SELECT id, appId, taskJson, enabled, firedAtMs FROM completionGroups
    WHERE enabled = 1 AND firedAtMs IS NULL`,
  /** R74: true (a row inserted) only for the first caller per batch. */
  markBatchNotified:
    'INSERT INTO notifiedBatches (batchId, notifiedAtMs) VALUES (@batchId, @now) ON CONFLICT DO NOTHING',
  /** R75: the operations one uploader created with notifications. */
  listNotificationBatch: `${SELECT_OPERATION} WHERE json_extract(extrasJson, '$.notificationBatchId') = ? ORDER BY seq`,
  listCompletionGroupMembers: `${SELECT_OPERATION} WHERE json_extract(extrasJson, '$.completionGroupId') = ? ORDER BY seq`,

  /** R32: queue positions rewritten when an operation is made current in its group. */
  setSequence: 'UPDATE operations SET seq = @seq, updatedAtMs = @now WHERE guid = @guid',
  /** R29: live (not finished) operations of one app. */
  countLive: `SELECT COUNT(*) AS count FROM operations WHERE appId = ? AND ${LIVE}`,
  /** `bgtransfer host status`: counts from the (appId, status) index, no row read. */
  countByStatus: 'SELECT status, COUNT(*) AS count FROM operations WHERE appId = ? GROUP BY status',
  /** R28: the transfer groups of one app that still have unfinished operations. */
  liveTransferGroups: `SELECT DISTINCT transferGroupName AS name FROM operations
    WHERE appId = ? AND ${LIVE} AND transferGroupName IS NOT NULL`,

  /** R26, R27: one row per (app, name); the latest behavior wins. */
  upsertTransferGroup: `INSERT INTO transferGroups (appId, name, transferBehavior) VALUES (?, ?, ?)
    ON CONFLICT (appId, name) DO UPDATE SET transferBehavior = excluded.transferBehavior`,
  /** R27: an operation's transfer group is remembered even if the engine never upserted it; never overwrites. */
  ensureTransferGroup: `INSERT INTO transferGroups (appId, name, transferBehavior) VALUES (?, ?, ?)
    ON CONFLICT (appId, name) DO NOTHING`,
  selectTransferGroup: 'SELECT name, transferBehavior FROM transferGroups WHERE appId = ? AND name = ?',
} as const);
