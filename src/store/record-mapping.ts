import { DEFAULT_EXTRAS } from '../core/default-extras.ts';
import {
  BackgroundTransferBehavior,
  BackgroundTransferCostPolicy,
  BackgroundTransferPriority,
  BackgroundTransferStatus,
} from '../core/enums.ts';
import { type SerializedTransferError, TransferError } from '../core/errors.ts';
import { readExtras } from '../core/extras-read.ts';
import type { OperationExtras } from '../core/operation-extras.ts';
import type { ResponseSnapshot, TransferDirection, TransferGroupSpec } from '../core/snapshot.ts';
import { checkError, checkHeaders, checkResponse, checkTask } from './column-checks.ts';
import type { CompletionGroupRecord, NewOperation, OperationRecord } from './operation-record.ts';

/**
 * The one place where a row of `operations` (migrations.ts) and an OperationRecord meet.
 * Booleans are 0/1 (SQLite has no boolean and better-sqlite3 does not bind `true`), enums are their
 * Windows numeric values, and structured fields are JSON text validated on the way out.
 */
export interface OperationRow {
  guid: string;
  appId: string;
  method: string;
  requestedUri: string;
  sourcePath: string | null;
  groupName: string | null;
  transferGroupName: string | null;
  transferGroupBehavior: number | null;
  costPolicy: number;
  priority: number;
  status: number;
  bytesSent: number;
  totalBytesToSend: number;
  bytesReceived: number;
  totalBytesToReceive: number;
  hasResponseChanged: number;
  hasRestarted: number;
  responseVersion: number;
  responseJson: string | null;
  errorJson: string | null;
  headersJson: string;
  sourceSize: number;
  sourceMtimeMs: number;
  sourceIno: number;
  attempts: number;
  notBeforeMs: number;
  seq: number;
  createdAtMs: number;
  updatedAtMs: number;
  ackOffset: number;
  extrasJson: string;
  direction: string;
  resultPath: string | null;
}

/** Every column, in schema order; SELECTs name them instead of `*` so a later migration cannot change the row shape. */
export const OPERATION_COLUMNS = [
  'guid',
  'appId',
  'method',
  'requestedUri',
  'sourcePath',
  'groupName',
  'transferGroupName',
  'transferGroupBehavior',
  'costPolicy',
  'priority',
  'status',
  'bytesSent',
  'totalBytesToSend',
  'bytesReceived',
  'totalBytesToReceive',
  'hasResponseChanged',
  'hasRestarted',
  'responseVersion',
  'responseJson',
  'errorJson',
  'headersJson',
  'sourceSize',
  'sourceMtimeMs',
  'sourceIno',
  'attempts',
  'notBeforeMs',
  'seq',
  'createdAtMs',
  'updatedAtMs',
  'ackOffset',
  'extrasJson',
  'direction',
  'resultPath',
] as const satisfies readonly (keyof OperationRow)[];

export function headersToJson(headers: ReadonlyArray<readonly [string, string]>): string {
  return JSON.stringify(headers);
}

export function responseToJson(response: ResponseSnapshot): string {
  const { statusCode, actualUri, isResumable, headers, bodyTruncated } = response;
  return JSON.stringify(
    bodyTruncated
      ? { statusCode, actualUri, isResumable, headers, bodyTruncated }
      : { statusCode, actualUri, isResumable, headers },
  );
}

export function extrasToJson(extras: OperationExtras): string {
  return JSON.stringify(extras);
}

/** extrasJson through readExtras (defaults for fields a row predates); corruption is BT_ERR_STORE. */
function parseExtrasColumn(text: string, guid: string): OperationExtras {
  try {
    return readExtras(JSON.parse(text));
  } catch (error) {
    throw new TransferError('BT_ERR_STORE', `operation ${guid}: extrasJson is not valid`, { cause: error });
  }
}

export function errorToJson(error: SerializedTransferError): string {
  const { code, message, httpStatus } = error;
  return JSON.stringify(httpStatus === undefined ? { code, message } : { code, message, httpStatus });
}

/** Parses one JSON column; anything we did not write ourselves is corruption, reported as BT_ERR_STORE. */
function parseColumn<T>(check: (value: unknown) => T | undefined, text: string, column: string, guid: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TransferError('BT_ERR_STORE', `operation ${guid}: ${column} is not valid JSON`, { cause: error });
  }
  const parsed = check(value);
  if (parsed === undefined) {
    throw new TransferError('BT_ERR_STORE', `operation ${guid}: ${column} has an unexpected shape`);
  }
  return parsed;
}

function enumMember<E extends Readonly<Record<string, number>>>(
  values: E,
  value: number,
  column: string,
  subject: string,
): E[keyof E] {
  const members: readonly number[] = Object.values(values);
  if (!members.includes(value)) {
    throw new TransferError('BT_ERR_STORE', `${subject}: ${column} has an unknown value ${value}`);
  }
  // `members.includes(value)` just proved that `value` is one of E's values; TS cannot narrow through it.
  return value as E[keyof E];
}

export function rowToRecord(row: OperationRow): OperationRecord {
  const { guid } = row;
  const subject = `operation ${guid}`;
  const transferGroup =
    row.transferGroupName === null
      ? null
      : {
          name: row.transferGroupName,
          transferBehavior: enumMember(
            BackgroundTransferBehavior,
            row.transferGroupBehavior ?? BackgroundTransferBehavior.parallel,
            'transferGroupBehavior',
            subject,
          ),
        };
  const record: OperationRecord = {
    guid,
    appId: row.appId,
    method: row.method,
    requestedUri: row.requestedUri,
    sourcePath: row.sourcePath,
    group: row.groupName,
    transferGroup,
    costPolicy: enumMember(BackgroundTransferCostPolicy, row.costPolicy, 'costPolicy', subject),
    priority: enumMember(BackgroundTransferPriority, row.priority, 'priority', subject),
    progress: {
      bytesSent: row.bytesSent,
      totalBytesToSend: row.totalBytesToSend,
      bytesReceived: row.bytesReceived,
      totalBytesToReceive: row.totalBytesToReceive,
      status: enumMember(BackgroundTransferStatus, row.status, 'status', subject),
      hasResponseChanged: row.hasResponseChanged !== 0,
      hasRestarted: row.hasRestarted !== 0,
    },
    responseVersion: row.responseVersion,
    response: row.responseJson === null ? null : parseColumn(checkResponse, row.responseJson, 'responseJson', guid),
    error: row.errorJson === null ? null : parseColumn(checkError, row.errorJson, 'errorJson', guid),
    createdAtMs: row.createdAtMs,
    headers: parseColumn(checkHeaders, row.headersJson, 'headersJson', guid),
    sourceSize: row.sourceSize,
    sourceMtimeMs: row.sourceMtimeMs,
    sourceIno: row.sourceIno,
    attempts: row.attempts,
    notBeforeMs: row.notBeforeMs,
    seq: row.seq,
    updatedAtMs: row.updatedAtMs,
    ackOffset: row.ackOffset,
    extras: parseExtrasColumn(row.extrasJson, guid),
    direction: parseDirection(row.direction, subject),
    resultPath: row.resultPath,
  };
  return record;
}

/**
 * The row of a freshly inserted operation: queued (idle), counters at 0, nothing to send but the file
 * (totalBytesToSend = sourceSize). `seq` is left to the caller, which appends to the queue.
 */
export function newOperationRow(operation: NewOperation, nowMs: number): Omit<OperationRow, 'seq'> {
  return {
    guid: operation.guid,
    appId: operation.appId,
    method: operation.method,
    requestedUri: operation.requestedUri,
    sourcePath: operation.sourcePath,
    groupName: operation.group,
    transferGroupName: operation.transferGroup?.name ?? null,
    transferGroupBehavior: operation.transferGroup?.transferBehavior ?? null,
    costPolicy: operation.costPolicy,
    priority: operation.priority,
    status: BackgroundTransferStatus.idle,
    bytesSent: 0,
    totalBytesToSend: operation.sourceSize,
    bytesReceived: 0,
    totalBytesToReceive: 0,
    hasResponseChanged: 0,
    hasRestarted: 0,
    responseVersion: 0,
    responseJson: null,
    errorJson: null,
    headersJson: headersToJson(operation.headers),
    sourceSize: operation.sourceSize,
    sourceMtimeMs: operation.sourceMtimeMs,
    sourceIno: operation.sourceIno,
    attempts: 0,
    notBeforeMs: 0,
    createdAtMs: operation.createdAtMs,
    updatedAtMs: nowMs,
    ackOffset: 0,
    extrasJson: extrasToJson(operation.extras ?? DEFAULT_EXTRAS),
    direction: operation.download ? 'download' : 'upload',
    resultPath: operation.download?.resultPath ?? null,
  };
}

function parseDirection(value: string, subject: string): TransferDirection {
  if (value === 'upload' || value === 'download') return value;
  throw new TransferError('BT_ERR_STORE', `${subject}: direction has an unknown value ${JSON.stringify(value)}`);
}

/** A row of `transferGroups` (R26, R27). */
export interface TransferGroupRow {
  name: string;
  transferBehavior: number;
}

export function rowToTransferGroup(appId: string, row: TransferGroupRow): TransferGroupSpec {
  return {
    name: row.name,
    transferBehavior: enumMember(
      BackgroundTransferBehavior,
      row.transferBehavior,
      'transferBehavior',
      `transfer group ${appId}/${row.name}`,
    ),
  };
}

/** A row of `completionGroups` (R78–R81). */
export interface CompletionGroupRow {
  id: string;
  appId: string;
  taskJson: string;
  enabled: number;
  firedAtMs: number | null;
}

export function rowToCompletionGroup(row: CompletionGroupRow): CompletionGroupRecord {
  return {
    id: row.id,
    appId: row.appId,
    task: parseColumn(checkTask, row.taskJson, 'taskJson', `completion group ${row.id}`),
    enabled: row.enabled !== 0,
    firedAtMs: row.firedAtMs,
  };
}
