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

/** The prepared statements of one connection. */
export interface Statements {
  insertOperation: Database.Statement<Omit<OperationRow, 'seq'>, OperationRow>;
  selectOperation: Database.Statement<[string], OperationRow>;
  listByStatus: Database.Statement<[string], OperationRow>;
  hasStatus: Database.Statement<[string], { found: number }>;
  moveToRunning: Database.Statement<GuidParams, OperationRow>;
  moveToQueued: Database.Statement<QueueParams, OperationRow>;
  moveToCompleted: Database.Statement<GuidParams & CompletionParams, OperationRow>;
  moveToFailed: Database.Statement<GuidParams & { errorJson: string }, OperationRow>;
  moveToCanceled: Database.Statement<GuidParams, OperationRow>;
  recordProgress: Database.Statement<GuidParams & ProgressUpdate, never>;
  recordResponse: Database.Statement<GuidParams & { responseJson: string; totalBytesToReceive: number }, OperationRow>;
  resetReceived: Database.Statement<GuidParams, never>;
  updateProperties: Database.Statement<
    GuidParams & {
      costPolicy: number | null;
      priority: number | null;
      headersJson: string | null;
      requestedUri: string | null;
    },
    OperationRow
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
  updateExtras: Database.Statement<GuidParams & { extrasJson: string }, OperationRow>;
  insertCompletionGroup: Database.Statement<{ id: string; appId: string; taskJson: string; now: number }, never>;
  selectCompletionGroup: Database.Statement<[string], CompletionGroupRow>;
  enableCompletionGroup: Database.Statement<[string], never>;
  markCompletionGroupFired: Database.Statement<{ id: string; now: number }, never>;
  listPendingCompletionGroups: Database.Statement<[], CompletionGroupRow>;
  listCompletionGroupMembers: Database.Statement<[string], OperationRow>;
  listNotificationBatch: Database.Statement<[string], OperationRow>;
  markBatchNotified: Database.Statement<{ batchId: string; now: number }, never>;
  statusEvents: Record<StatusEvent, Database.Statement<GuidParams, OperationRow>>;
}

/** The prepared statements, prepared once per connection (better-sqlite3 reuses them across calls). */
export function prepareAll(db: Database.Database): Statements {
  return {
    insertOperation: db.prepare<Omit<OperationRow, 'seq'>, OperationRow>(SQL.insertOperation),
    selectOperation: db.prepare<[string], OperationRow>(SQL.selectOperation),
    listByStatus: db.prepare<[string], OperationRow>(SQL.listByStatus),
    hasStatus: db.prepare<[string], { found: number }>(SQL.hasStatus),
    moveToRunning: db.prepare<GuidParams, OperationRow>(SQL.moveToRunning),
    moveToQueued: db.prepare<QueueParams, OperationRow>(SQL.moveToQueued),
    moveToCompleted: db.prepare<GuidParams & CompletionParams, OperationRow>(SQL.moveToCompleted),
    moveToFailed: db.prepare<GuidParams & { errorJson: string }, OperationRow>(SQL.moveToFailed),
    moveToCanceled: db.prepare<GuidParams, OperationRow>(SQL.moveToCanceled),
    recordProgress: db.prepare<GuidParams & ProgressUpdate, never>(SQL.recordProgress),
    recordResponse: db.prepare<GuidParams & { responseJson: string; totalBytesToReceive: number }, OperationRow>(
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
      OperationRow
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
    updateExtras: db.prepare<GuidParams & { extrasJson: string }, OperationRow>(SQL.updateExtras),
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
      STATUS_EVENTS.map((event) => [event, db.prepare<GuidParams, OperationRow>(statusEventSql(event))]),
    ) as Record<StatusEvent, Database.Statement<GuidParams, OperationRow>>,
  };
}
