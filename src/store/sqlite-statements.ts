import type Database from 'better-sqlite3';
import type { BackgroundTransferStatus } from '../core/enums.ts';
import type { CompletionUpdate, ProgressUpdate } from './operation-record.ts';
import { SQL, STATUS_EVENTS, type StatusEvent, statusEventSql } from './queries.ts';
import { type CompletionGroupRow, extrasToJson, type OperationRow, type TransferGroupRow } from './record-mapping.ts';
import { assertProgress } from './store-guards.ts';

export type GuidParams = { guid: string; now: number };
/** moveToQueued: flags are 0/1 (SQLite has no booleans); errorJson null with replaceError 1 clears it. */
export type QueueParams = GuidParams & {
  restart: number;
  attemptIncrement: number;
  resetAttempts: number;
  notBeforeMs: number;
  replaceError: number;
  errorJson: string | null;
};
/** moveToCompleted: final 0 keeps the stored counters; extrasJson null keeps the stored extras. */
export type CompletionParams = ProgressUpdate & { final: number; extrasJson: string | null };

/** moveToCompleted's parameters for an optional `final` (checked: counters must be counts). */
export function completionParams(final: CompletionUpdate | undefined): CompletionParams {
  if (final === undefined)
    return { bytesSent: 0, bytesReceived: 0, totalBytesToReceive: 0, final: 0, extrasJson: null };
  assertProgress(final.progress);
  return {
    ...final.progress,
    final: 1,
    extrasJson: final.extras === undefined ? null : extrasToJson(final.extras),
  };
}

/** The row an UPDATE changed, read back; null when it changed none (its guard refused the move). */
export function readUpdated(sql: Statements, result: Database.RunResult, guid: string): OperationRow | null {
  return result.changes === 0 ? null : (sql.selectOperation.get(guid) ?? null);
}

/** The prepared statements of one connection. */
export interface Statements {
  insertOperation: Database.Statement<Omit<OperationRow, 'seq'>, never>;
  selectOperation: Database.Statement<[string], OperationRow>;
  listByStatus: Database.Statement<[string], OperationRow>;
  hasStatus: Database.Statement<[string], { found: number }>;
  moveToRunning: Database.Statement<GuidParams, never>;
  moveToQueued: Database.Statement<QueueParams, never>;
  moveToCompleted: Database.Statement<GuidParams & CompletionParams, never>;
  moveToFailed: Database.Statement<GuidParams & { errorJson: string }, never>;
  moveToCanceled: Database.Statement<GuidParams, never>;
  recordProgress: Database.Statement<GuidParams & ProgressUpdate, never>;
  recordResponse: Database.Statement<GuidParams & { responseJson: string; totalBytesToReceive: number }, never>;
  resetReceived: Database.Statement<GuidParams, never>;
  updateProperties: Database.Statement<
    GuidParams & {
      costPolicy: number | null;
      priority: number | null;
      headersJson: string | null;
      requestedUri: string | null;
    },
    never
  >;
  upsertTransferGroup: Database.Statement<[string, string, number], never>;
  ensureTransferGroup: Database.Statement<[string, string, number], never>;
  selectTransferGroup: Database.Statement<[string, string], TransferGroupRow>;
  recordAcknowledged: Database.Statement<GuidParams & { ackOffset: number }, never>;
  markInterrupted: Database.Statement<GuidParams & { restart: number; counted: number } & ProgressUpdate, never>;
  setSequence: Database.Statement<GuidParams & { seq: number }, never>;
  countLive: Database.Statement<[string], { count: number }>;
  countByStatus: Database.Statement<[string], { status: BackgroundTransferStatus; count: number }>;
  liveTransferGroups: Database.Statement<[string], { name: string }>;
  updateExtras: Database.Statement<GuidParams & { extrasJson: string }, never>;
  insertCompletionGroup: Database.Statement<{ id: string; appId: string; taskJson: string; now: number }, never>;
  selectCompletionGroup: Database.Statement<[string], CompletionGroupRow>;
  enableCompletionGroup: Database.Statement<[string], never>;
  markCompletionGroupFired: Database.Statement<{ id: string; now: number }, never>;
  listPendingCompletionGroups: Database.Statement<[], CompletionGroupRow>;
  listCompletionGroupMembers: Database.Statement<[string], OperationRow>;
  listNotificationBatch: Database.Statement<[string], OperationRow>;
  markBatchNotified: Database.Statement<{ batchId: string; now: number }, never>;
  statusEvents: Record<StatusEvent, Database.Statement<GuidParams, never>>;
}

/** The prepared statements, prepared once per connection (better-sqlite3 reuses them across calls). */
export function prepareAll(db: Database.Database): Statements {
  return {
    insertOperation: db.prepare<Omit<OperationRow, 'seq'>, never>(SQL.insertOperation),
    selectOperation: db.prepare<[string], OperationRow>(SQL.selectOperation),
    listByStatus: db.prepare<[string], OperationRow>(SQL.listByStatus),
    hasStatus: db.prepare<[string], { found: number }>(SQL.hasStatus),
    moveToRunning: db.prepare<GuidParams, never>(SQL.moveToRunning),
    moveToQueued: db.prepare<QueueParams, never>(SQL.moveToQueued),
    moveToCompleted: db.prepare<GuidParams & CompletionParams, never>(SQL.moveToCompleted),
    moveToFailed: db.prepare<GuidParams & { errorJson: string }, never>(SQL.moveToFailed),
    moveToCanceled: db.prepare<GuidParams, never>(SQL.moveToCanceled),
    recordProgress: db.prepare<GuidParams & ProgressUpdate, never>(SQL.recordProgress),
    recordResponse: db.prepare<GuidParams & { responseJson: string; totalBytesToReceive: number }, never>(
      SQL.recordResponse,
    ),
    resetReceived: db.prepare<GuidParams, never>(SQL.resetReceived),
    updateProperties: db.prepare<
      GuidParams & {
        costPolicy: number | null;
        priority: number | null;
        headersJson: string | null;
        requestedUri: string | null;
      },
      never
    >(SQL.updateProperties),
    upsertTransferGroup: db.prepare<[string, string, number], never>(SQL.upsertTransferGroup),
    ensureTransferGroup: db.prepare<[string, string, number], never>(SQL.ensureTransferGroup),
    selectTransferGroup: db.prepare<[string, string], TransferGroupRow>(SQL.selectTransferGroup),
    recordAcknowledged: db.prepare<GuidParams & { ackOffset: number }, never>(SQL.recordAcknowledged),
    markInterrupted: db.prepare<GuidParams & { restart: number; counted: number } & ProgressUpdate, never>(
      SQL.markInterrupted,
    ),
    setSequence: db.prepare<GuidParams & { seq: number }, never>(SQL.setSequence),
    countLive: db.prepare<[string], { count: number }>(SQL.countLive),
    countByStatus: db.prepare<[string], { status: BackgroundTransferStatus; count: number }>(SQL.countByStatus),
    liveTransferGroups: db.prepare<[string], { name: string }>(SQL.liveTransferGroups),
    updateExtras: db.prepare<GuidParams & { extrasJson: string }, never>(SQL.updateExtras),
    insertCompletionGroup: db.prepare<{ id: string; appId: string; taskJson: string; now: number }, never>(
      SQL.insertCompletionGroup,
    ),
    selectCompletionGroup: db.prepare<[string], CompletionGroupRow>(SQL.selectCompletionGroup),
    enableCompletionGroup: db.prepare<[string], never>(SQL.enableCompletionGroup),
    markCompletionGroupFired: db.prepare<{ id: string; now: number }, never>(SQL.markCompletionGroupFired),
    listPendingCompletionGroups: db.prepare<[], CompletionGroupRow>(SQL.listPendingCompletionGroups),
    listCompletionGroupMembers: db.prepare<[string], OperationRow>(SQL.listCompletionGroupMembers),
    listNotificationBatch: db.prepare<[string], OperationRow>(SQL.listNotificationBatch),
    markBatchNotified: db.prepare<{ batchId: string; now: number }, never>(SQL.markBatchNotified),
    statusEvents: Object.fromEntries(
      STATUS_EVENTS.map((event) => [event, db.prepare<GuidParams, never>(statusEventSql(event))]),
    ) as Record<StatusEvent, Database.Statement<GuidParams, never>>,
  };
}
