import type { OperationSnapshot, ResponseSnapshot } from './snapshot.ts';

/**
 * The compact form of an enumeration page's snapshots (docs/architecture.md, "An enumeration"): each
 * operation an array of its values in a fixed order, without the key names, which were about 330 of a
 * plain upload's 750 bytes; the app id, the same for every operation of a page, is sent once per page.
 * A client reads it only when the host's `hello` lists SNAPSHOT_ROW_FORM among its list forms, and asks
 * for it by name; anything else gets the snapshots as objects, as before.
 *
 * The order is OperationSnapshot's, with `progress` flattened into its seven fields, `transferGroup` as
 * `[name, transferBehavior]` and `response` and `error` as their objects. A download's row has three
 * more values (isRandomAccessRequired, recoverableWebErrorStatuses, expectedContentDigest); an upload's
 * ends at resultPath, as its object has none of them. A change of this order is a new form name.
 *
 * `rows2` (COMPACT_ROW_FORM) is the same order with a compact response: `[statusCode, actualUri,
 * isResumable, headers]`, `actualUri` null when it is the requested URI (no redirect: nearly always),
 * `headers` the JSON text of the header pairs, as a string, and a fifth value, bodyTruncated, only when
 * the response has one. The client keeps the headers' text and parses it when the app first reads
 * them: a plain upload's four headers were 13 of its 24 objects and half of its parsing, and an
 * enumeration rarely reads them. A host offers both forms, so an older client keeps reading rows1.
 */

/** The name of the first row layout in `hello`'s listForms and listPage's `form`. */
export const SNAPSHOT_ROW_FORM = 'rows1';
/** The layout with the compact response; its page carries `rows2` instead of `rows`. */
export const COMPACT_ROW_FORM = 'rows2';

/** The row layouts a host may send, newest first (the client asks for the first its host offers). */
export type RowForm = typeof COMPACT_ROW_FORM | typeof SNAPSHOT_ROW_FORM;
export const ROW_FORMS: readonly RowForm[] = [COMPACT_ROW_FORM, SNAPSHOT_ROW_FORM];

/** How an enumeration page carries its snapshots: as objects (every client understands) or as rows. */
export type SnapshotForm = 'objects' | RowForm;

/** The index of the response in a row. */
export const RESPONSE_INDEX = 16;

/** Values in an upload's row; a download's has DOWNLOAD_ROW_LENGTH. */
export const UPLOAD_ROW_LENGTH = 22;
export const DOWNLOAD_ROW_LENGTH = 25;

/** The row of a snapshot (a running operation's live one; stored ones come as text from SQL). */
export function toSnapshotRow(snapshot: OperationSnapshot, form: RowForm = SNAPSHOT_ROW_FORM): unknown[] {
  const { progress, transferGroup, response } = snapshot;
  const row: unknown[] = [
    snapshot.guid,
    snapshot.method,
    snapshot.requestedUri,
    snapshot.sourcePath,
    snapshot.group,
    transferGroup === null ? null : [transferGroup.name, transferGroup.transferBehavior],
    snapshot.costPolicy,
    snapshot.priority,
    progress.bytesSent,
    progress.totalBytesToSend,
    progress.bytesReceived,
    progress.totalBytesToReceive,
    progress.status,
    progress.hasResponseChanged,
    progress.hasRestarted,
    snapshot.responseVersion,
    form === SNAPSHOT_ROW_FORM || response === null ? response : compactResponse(response, snapshot.requestedUri),
    snapshot.error,
    snapshot.createdAtMs,
    snapshot.contentDigest,
    snapshot.direction,
    snapshot.resultPath,
  ];
  if (snapshot.direction === 'download') {
    row.push(
      snapshot.isRandomAccessRequired ?? false,
      snapshot.recoverableWebErrorStatuses ?? [],
      snapshot.expectedContentDigest ?? null,
    );
  }
  return row;
}

/** The response as rows2 carries it. */
function compactResponse(response: ResponseSnapshot, requestedUri: string): unknown[] {
  const { statusCode, actualUri, isResumable, headers, bodyTruncated } = response;
  const compact: unknown[] = [
    statusCode,
    actualUri === requestedUri ? null : actualUri,
    isResumable,
    JSON.stringify(headers),
  ];
  if (bodyTruncated !== undefined) compact.push(bodyTruncated);
  return compact;
}

/**
 * The snapshot object a row stands for, with the page's app id, its values not yet checked (the
 * client checks it as it checks an object from the host). Undefined when `row` is not an array of one
 * of the two lengths. `transferGroup` that is not a pair is passed on as it is, for the check to name.
 * A rows2 response is left as its array: the client checks it and makes the object (snapshot-check.ts).
 */
export function fromSnapshotRow(row: unknown, appId: string): Record<string, unknown> | undefined {
  if (!Array.isArray(row) || (row.length !== UPLOAD_ROW_LENGTH && row.length !== DOWNLOAD_ROW_LENGTH)) return undefined;
  const group: unknown = row[5];
  const snapshot: Record<string, unknown> = {
    guid: row[0],
    appId,
    method: row[1],
    requestedUri: row[2],
    sourcePath: row[3],
    group: row[4],
    transferGroup: Array.isArray(group) && group.length === 2 ? { name: group[0], transferBehavior: group[1] } : group,
    costPolicy: row[6],
    priority: row[7],
    progress: {
      bytesSent: row[8],
      totalBytesToSend: row[9],
      bytesReceived: row[10],
      totalBytesToReceive: row[11],
      status: row[12],
      hasResponseChanged: row[13],
      hasRestarted: row[14],
    },
    responseVersion: row[15],
    response: row[RESPONSE_INDEX],
    error: row[17],
    createdAtMs: row[18],
    contentDigest: row[19],
    direction: row[20],
    resultPath: row[21],
  };
  if (row.length === DOWNLOAD_ROW_LENGTH) {
    snapshot.isRandomAccessRequired = row[22];
    snapshot.recoverableWebErrorStatuses = row[23];
    snapshot.expectedContentDigest = row[24];
  }
  return snapshot;
}
