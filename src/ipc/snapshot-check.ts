import { ERROR_DEFINITIONS, type ErrorCode, type SerializedTransferError } from '../core/errors.ts';
import { isHeaderPair } from '../core/header-list.ts';
import type { OperationSnapshot } from '../core/snapshot.ts';
import { COMPACT_ROW_FORM, fromSnapshotRow, type RowForm, SNAPSHOT_ROW_FORM } from '../core/snapshot-row.ts';
import { CompactResponse } from './compact-response.ts';
import {
  BEHAVIORS,
  boolean,
  COST_POLICIES,
  count,
  DIRECTIONS,
  fail,
  integer,
  member,
  nullableString,
  number,
  type Path,
  PRIORITIES,
  record,
  ShapeCheckError,
  STATUSES,
  string,
} from './shape-check.ts';

/**
 * The client's check of the snapshots in an enumeration reply: the same rules as `snapshotSchema`
 * (methods.ts), written out by hand. zod took 0.35–0.8 s for 10,000 snapshots on a loaded machine; this
 * takes a few milliseconds. `snapshot-check.test.ts` holds the two to the same verdicts and the same
 * output on valid and broken snapshots, so they cannot drift apart.
 *
 * As with the schema, known fields are checked and unknown ones kept (a newer host), the fields a host
 * that predates them leaves out get their defaults, and an error code this version does not know
 * arrives as BT_ERR_INTERNAL. A failure names the path and what was expected there.
 */

function checkProgress(value: unknown, path: Path): void {
  const progress = record(value, path, 'progress');
  count(progress.bytesSent, path, 'progress.bytesSent');
  count(progress.totalBytesToSend, path, 'progress.totalBytesToSend');
  count(progress.bytesReceived, path, 'progress.bytesReceived');
  count(progress.totalBytesToReceive, path, 'progress.totalBytesToReceive');
  member(STATUSES, progress.status, path, 'progress.status', 'a BackgroundTransferStatus');
  boolean(progress.hasResponseChanged, path, 'progress.hasResponseChanged');
  boolean(progress.hasRestarted, path, 'progress.hasRestarted');
}

function checkResponse(value: unknown, path: Path): void {
  // A rows2 response was checked when it was made (compactResponse); its headers are checked when read.
  if (value === null || value instanceof CompactResponse) return;
  const response = record(value, path, 'response');
  integer(response.statusCode, path, 'response.statusCode');
  string(response.actualUri, path, 'response.actualUri');
  boolean(response.isResumable, path, 'response.isResumable');
  const headers = response.headers;
  if (!Array.isArray(headers)) fail(path, 'an array', 'response.headers');
  for (let index = 0; index < headers.length; index++) {
    if (!isHeaderPair(headers[index])) fail(path, 'a [name, value] pair of strings', `response.headers[${index}]`);
  }
  if (response.bodyTruncated !== undefined) boolean(response.bodyTruncated, path, 'response.bodyTruncated');
}

/** As serializedError: a plain object of the three known fields; an unknown code is BT_ERR_INTERNAL. */
function checkError(value: unknown, path: Path): SerializedTransferError | null {
  if (value === null) return null;
  const error = record(value, path, 'error');
  string(error.code, path, 'error.code');
  string(error.message, path, 'error.message');
  if (error.httpStatus !== undefined) integer(error.httpStatus, path, 'error.httpStatus');
  const code = Object.hasOwn(ERROR_DEFINITIONS, error.code as string) ? (error.code as ErrorCode) : 'BT_ERR_INTERNAL';
  const checked: SerializedTransferError = { code, message: error.message as string };
  if (error.httpStatus !== undefined) checked.httpStatus = error.httpStatus as number;
  return checked;
}

function checkTransferGroup(value: unknown, path: Path): void {
  if (value === null) return;
  const group = record(value, path, 'transferGroup');
  string(group.name, path, 'transferGroup.name');
  member(BEHAVIORS, group.transferBehavior, path, 'transferGroup.transferBehavior', 'a BackgroundTransferBehavior');
}

/**
 * Checks one snapshot the host sent and returns it, completed with the defaults a host that predates a
 * field leaves out. The object is the parsed frame's own (nothing else holds it), so it is completed in
 * place rather than copied. Throws ShapeCheckError.
 */
export function checkSnapshot(value: unknown, path: Path): OperationSnapshot {
  const snapshot = record(value, path);
  string(snapshot.guid, path, 'guid');
  string(snapshot.appId, path, 'appId');
  string(snapshot.method, path, 'method');
  string(snapshot.requestedUri, path, 'requestedUri');
  nullableString(snapshot.sourcePath, path, 'sourcePath');
  nullableString(snapshot.group, path, 'group');
  checkTransferGroup(snapshot.transferGroup, path);
  member(COST_POLICIES, snapshot.costPolicy, path, 'costPolicy', 'a BackgroundTransferCostPolicy');
  member(PRIORITIES, snapshot.priority, path, 'priority', 'a BackgroundTransferPriority');
  checkProgress(snapshot.progress, path);
  count(snapshot.responseVersion, path, 'responseVersion');
  checkResponse(snapshot.response, path);
  const error = checkError(snapshot.error, path);
  number(snapshot.createdAtMs, path, 'createdAtMs');
  if (snapshot.contentDigest === undefined) snapshot.contentDigest = null;
  else nullableString(snapshot.contentDigest, path, 'contentDigest');
  if (snapshot.direction === undefined) snapshot.direction = 'upload';
  else member(DIRECTIONS, snapshot.direction, path, 'direction', '"upload" or "download"');
  if (snapshot.resultPath === undefined) snapshot.resultPath = null;
  else nullableString(snapshot.resultPath, path, 'resultPath');
  if (snapshot.isRandomAccessRequired !== undefined) {
    boolean(snapshot.isRandomAccessRequired, path, 'isRandomAccessRequired');
  }
  const statuses = snapshot.recoverableWebErrorStatuses;
  if (statuses !== undefined) {
    if (!Array.isArray(statuses)) fail(path, 'an array', 'recoverableWebErrorStatuses');
    for (let index = 0; index < statuses.length; index++) {
      number(statuses[index], path, `recoverableWebErrorStatuses[${index}]`);
    }
  }
  if (snapshot.expectedContentDigest !== undefined) {
    nullableString(snapshot.expectedContentDigest, path, 'expectedContentDigest');
  }
  if (snapshot.error !== error) snapshot.error = error;
  // Every field OperationSnapshot declares was checked above.
  return snapshot as unknown as OperationSnapshot;
}

/** An enumeration's operations: an array of snapshots, each checked (checkSnapshot). */
export function checkSnapshots(value: unknown, path: Path): OperationSnapshot[] {
  if (!Array.isArray(value)) fail(path, 'an array');
  for (let index = 0; index < value.length; index++) {
    try {
      checkSnapshot(value[index], '');
    } catch (error) {
      // The path of the broken one is made only now: a list that passes builds no string.
      if (error instanceof ShapeCheckError) throw new ShapeCheckError(`${path}[${index}]${error.message}`);
      throw error;
    }
  }
  // Each element was checked (and completed in place) just above.
  return value as OperationSnapshot[];
}

/**
 * An enumeration's operations as rows (core/snapshot-row.ts), each made into its snapshot object with
 * the page's app id and checked as an object from the host is.
 */
export function checkSnapshotRows(
  value: unknown,
  appId: string,
  path: Path,
  form: RowForm = SNAPSHOT_ROW_FORM,
): OperationSnapshot[] {
  if (!Array.isArray(value)) fail(path, 'an array');
  const snapshots = new Array<OperationSnapshot>(value.length);
  for (let index = 0; index < value.length; index++) {
    try {
      const snapshot = fromSnapshotRow(value[index], appId);
      if (snapshot === undefined) fail('', 'a snapshot row');
      if (form === COMPACT_ROW_FORM) snapshot.response = compactResponse(snapshot.response, snapshot.requestedUri);
      snapshots[index] = checkSnapshot(snapshot, '');
    } catch (error) {
      if (error instanceof ShapeCheckError) throw new ShapeCheckError(`${path}[${index}]${error.message}`);
      throw error;
    }
  }
  return snapshots;
}

/** A rows2 response, `[statusCode, actualUri or null, isResumable, headers text, bodyTruncated?]`, checked. */
function compactResponse(value: unknown, requestedUri: unknown): CompactResponse | null {
  if (value === null) return null;
  if (!Array.isArray(value) || (value.length !== 4 && value.length !== 5)) {
    fail('', 'null or [statusCode, actualUri, isResumable, headers, bodyTruncated?]', 'response');
  }
  const [statusCode, actualUri, isResumable, headersText, bodyTruncated] = value;
  integer(statusCode, '', 'response.statusCode');
  // null: the requested URI (no redirect).
  const uri: unknown = actualUri ?? requestedUri;
  string(uri, '', 'response.actualUri');
  boolean(isResumable, '', 'response.isResumable');
  string(headersText, '', 'response.headers');
  if (value.length === 5) boolean(bodyTruncated, '', 'response.bodyTruncated');
  return new CompactResponse(
    statusCode as number,
    uri as string,
    isResumable as boolean,
    headersText as string,
    value.length === 5 ? (bodyTruncated as boolean) : undefined,
  );
}
