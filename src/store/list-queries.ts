import type Database from 'better-sqlite3';
import {
  BackgroundTransferBehavior,
  BackgroundTransferCostPolicy,
  BackgroundTransferPriority,
  BackgroundTransferStatus,
} from '../core/enums.ts';
import { TransferError } from '../core/errors.ts';
import type { ListFilter, TransferDirection } from '../core/snapshot.ts';
import type { SnapshotForm } from '../core/snapshot-row.ts';
import type { ListPage, SnapshotRow } from './operation-record.ts';
import { OPERATION_COLUMNS, type OperationRow, rowToRecord } from './record-mapping.ts';

/**
 * The enumerations of one app (R22–R24), in queue order, a page at a time: as records (the engine's own
 * use) and as the snapshot's JSON text, built by SQLite (`json_object`) so that a page of 2,000
 * operations costs one string per row on the JavaScript side instead of a 33-field row object, a record
 * and a snapshot each, and is spliced into the reply frame as it is.
 *
 * Another app's operations never match `appId = ?`. Each query ends with the directions (a JSON array of
 * 'upload'/'download') and a page: after (seq, guid), at most `limit` rows (-1: all). (seq, guid) is
 * unique, so a page never repeats or skips a row; the direction is in the query, not filtered afterwards,
 * so that a page of uploads holds `limit` uploads. The (appId, seq, guid) index (schema v8) answers the
 * page as a range: without it every page scanned and sorted all of the app's rows.
 */

const WHERE: Record<ListFilter['kind'], string> = {
  /** R22: GetCurrentUploadsAsync() — operations in no group of either kind. */
  ungrouped: 'appId = ? AND groupName IS NULL AND transferGroupName IS NULL',
  /** R23: GetCurrentUploadsAsync(group) — by the legacy string group. */
  group: 'appId = ? AND groupName = ?',
  /** R24: GetCurrentUploadsForTransferGroupAsync(group) — by BackgroundTransferGroup name. */
  transferGroup: 'appId = ? AND transferGroupName = ?',
  all: 'appId = ?',
};
const PAGE = 'AND direction IN (SELECT value FROM json_each(?)) AND (seq, guid) > (?, ?) ORDER BY seq, guid LIMIT ?';

/** The direction parameter of an enumeration of both directions. */
export const BOTH_DIRECTIONS = '["upload","download"]';
const FROM_START = { seq: Number.MIN_SAFE_INTEGER, guid: '' };

/** An integer column as JSON true/false (SQLite has no boolean; `json()` marks the text as JSON). */
function bool(expression: string): string {
  return `json(CASE WHEN ${expression} THEN 'true' ELSE 'false' END)`;
}

function values(enumeration: Readonly<Record<string, number>>): string {
  return Object.values(enumeration).join(', ');
}

/**
 * OperationSnapshot (core/snapshot.ts) as live-transfer.ts `toSnapshot` makes it from a record, key for
 * key and in the same order; `snapshot-json.test.ts` holds the two to the same text. The extras fields
 * absent from a row written before them read as their defaults, as `readExtras` gives them.
 */
const UPLOAD_FIELDS = [
  "'guid', guid",
  "'appId', appId",
  "'method', method",
  "'requestedUri', requestedUri",
  "'sourcePath', sourcePath",
  "'group', groupName",
  `'transferGroup', CASE WHEN transferGroupName IS NULL THEN NULL ELSE json_object('name', transferGroupName,
    'transferBehavior', COALESCE(transferGroupBehavior, ${BackgroundTransferBehavior.parallel})) END`,
  "'costPolicy', costPolicy",
  "'priority', priority",
  `'progress', json_object('bytesSent', bytesSent, 'totalBytesToSend', totalBytesToSend,
    'bytesReceived', bytesReceived, 'totalBytesToReceive', totalBytesToReceive, 'status', status,
    'hasResponseChanged', ${bool('hasResponseChanged <> 0')}, 'hasRestarted', ${bool('hasRestarted <> 0')})`,
  "'responseVersion', responseVersion",
  "'response', json(responseJson)",
  "'error', json(errorJson)",
  "'createdAtMs', createdAtMs",
  "'contentDigest', json_extract(extrasJson, '$.contentDigest')",
  "'direction', direction",
  "'resultPath', resultPath",
];
const DOWNLOAD_FIELDS = [
  ...UPLOAD_FIELDS,
  `'isRandomAccessRequired', ${bool("json_extract(extrasJson, '$.isRandomAccessRequired') = 1")}`,
  "'recoverableWebErrorStatuses', json(COALESCE(json_extract(extrasJson, '$.recoverableWebErrorStatuses'), '[]'))",
  "'expectedContentDigest', json_extract(extrasJson, '$.expectedContentDigest')",
];

/**
 * The same values as a row of core/snapshot-row.ts (its order, no key names), held to the text of
 * `toSnapshotRow(toSnapshot(record))` by the same test.
 */
const UPLOAD_ROW = [
  'guid',
  'method',
  'requestedUri',
  'sourcePath',
  'groupName',
  `CASE WHEN transferGroupName IS NULL THEN NULL ELSE json_array(transferGroupName,
    COALESCE(transferGroupBehavior, ${BackgroundTransferBehavior.parallel})) END`,
  'costPolicy',
  'priority',
  'bytesSent',
  'totalBytesToSend',
  'bytesReceived',
  'totalBytesToReceive',
  'status',
  bool('hasResponseChanged <> 0'),
  bool('hasRestarted <> 0'),
  'responseVersion',
  'json(responseJson)',
  'json(errorJson)',
  'createdAtMs',
  "json_extract(extrasJson, '$.contentDigest')",
  'direction',
  'resultPath',
];
const DOWNLOAD_ROW_TAIL = [
  bool("json_extract(extrasJson, '$.isRandomAccessRequired') = 1"),
  "json(COALESCE(json_extract(extrasJson, '$.recoverableWebErrorStatuses'), '[]'))",
  "json_extract(extrasJson, '$.expectedContentDigest')",
];
const DOWNLOAD_ROW = [...UPLOAD_ROW, ...DOWNLOAD_ROW_TAIL];

/**
 * rows2's response (core/snapshot-row.ts): its values without key names, the actual URI null when it is
 * the requested one, the headers as their JSON text in a string (`->>` gives the array's text without
 * the JSON subtype, so json_array quotes it; the text is the stored one, which JSON.stringify wrote).
 */
const COMPACT_RESPONSE_VALUES = `responseJson ->> '$.statusCode',
  CASE WHEN responseJson ->> '$.actualUri' = requestedUri THEN NULL ELSE responseJson ->> '$.actualUri' END,
  responseJson -> '$.isResumable', responseJson ->> '$.headers'`;
const COMPACT_RESPONSE = `CASE WHEN responseJson IS NULL THEN NULL
  WHEN json_type(responseJson, '$.bodyTruncated') IS NULL THEN json_array(${COMPACT_RESPONSE_VALUES})
  ELSE json_array(${COMPACT_RESPONSE_VALUES}, responseJson -> '$.bodyTruncated') END`;
const COMPACT_UPLOAD_ROW = UPLOAD_ROW.map((value) => (value === 'json(responseJson)' ? COMPACT_RESPONSE : value));
const COMPACT_DOWNLOAD_ROW = [...COMPACT_UPLOAD_ROW, ...DOWNLOAD_ROW_TAIL];

/**
 * Whether the row holds only what the record mapping accepts as far as SQL can tell (known enum values,
 * a known direction, JSON columns that parse). A row that fails it goes through `rowToRecord`, which
 * names the bad column in a BT_ERR_STORE, as every other read of a damaged row does.
 */
const ROW_IS_SOUND = `status IN (${values(BackgroundTransferStatus)})
  AND costPolicy IN (${values(BackgroundTransferCostPolicy)}) AND priority IN (${values(BackgroundTransferPriority)})
  AND (transferGroupName IS NULL OR transferGroupBehavior IS NULL OR transferGroupBehavior IN (${values(BackgroundTransferBehavior)}))
  AND direction IN ('upload', 'download') AND json_valid(extrasJson)
  AND (responseJson IS NULL OR json_valid(responseJson)) AND (errorJson IS NULL OR json_valid(errorJson))`;

/** json() of a column that does not parse would fail the whole page; such a row is reported by itself. */
const SNAPSHOT_JSON: Record<SnapshotForm, string> = {
  objects: `CASE WHEN NOT (${ROW_IS_SOUND}) THEN NULL
  WHEN direction = 'download' THEN json_object(${DOWNLOAD_FIELDS.join(', ')})
  ELSE json_object(${UPLOAD_FIELDS.join(', ')}) END`,
  rows1: `CASE WHEN NOT (${ROW_IS_SOUND}) THEN NULL
  WHEN direction = 'download' THEN json_array(${DOWNLOAD_ROW.join(', ')})
  ELSE json_array(${UPLOAD_ROW.join(', ')}) END`,
  rows2: `CASE WHEN NOT (${ROW_IS_SOUND}) THEN NULL
  WHEN direction = 'download' THEN json_array(${COMPACT_DOWNLOAD_ROW.join(', ')})
  ELSE json_array(${COMPACT_UPLOAD_ROW.join(', ')}) END`,
};
const FORMS: readonly SnapshotForm[] = ['objects', 'rows1', 'rows2'];

/** One value per form. */
function perForm<T>(make: (form: SnapshotForm) => T): Record<SnapshotForm, T> {
  return { objects: make('objects'), rows1: make('rows1'), rows2: make('rows2') };
}

type Params = unknown[];

/** Above this many operations the texts are not kept (about 750 bytes each): enumerations read SQL. */
const MAX_KEPT_TEXTS = 100_000;
/** A page missing more texts than this is read whole in one query rather than one row at a time. */
const MANY_MISSING = 64;

/**
 * The prepared enumeration statements of one connection, and each listed operation's snapshot text,
 * kept until the store writes that operation (`forget`): with 10,000 operations stored, building their
 * JSON took SQLite ~200 ms a list on a loaded machine, finding which rows a page holds ~30 ms. The store
 * calls forget() for every write to an operation's row (a queue position is not in the text); one engine
 * owns the file (the home lock). Texts are kept per form, so a host whose clients all read rows keeps
 * rows only.
 */
export class ListQueries {
  readonly #records: Record<ListFilter['kind'], Database.Statement<Params, OperationRow>>;
  readonly #snapshots: Record<
    SnapshotForm,
    Record<ListFilter['kind'], Database.Statement<Params, [string, number, string | null]>>
  >;
  readonly #keys: Record<ListFilter['kind'], Database.Statement<Params, [string, number]>>;
  readonly #snapshot: Record<SnapshotForm, Database.Statement<[string], string | null>>;
  readonly #row: Database.Statement<[string], OperationRow>;
  readonly #texts = perForm(() => new Map<string, string>());

  constructor(db: Database.Database) {
    const prepare = <R>(select: string): Record<ListFilter['kind'], Database.Statement<Params, R>> => ({
      ungrouped: db.prepare<Params, R>(pageSql(select, 'ungrouped')),
      group: db.prepare<Params, R>(pageSql(select, 'group')),
      transferGroup: db.prepare<Params, R>(pageSql(select, 'transferGroup')),
      all: db.prepare<Params, R>(pageSql(select, 'all')),
    });
    this.#records = prepare<OperationRow>(`SELECT ${OPERATION_COLUMNS.join(', ')} FROM operations`);
    const snapshots = (form: SnapshotForm) => {
      const statements = prepare<[string, number, string | null]>(
        `SELECT guid, seq, ${SNAPSHOT_JSON[form]} FROM operations`,
      );
      for (const statement of Object.values(statements)) statement.raw(true);
      return statements;
    };
    this.#snapshots = perForm(snapshots);
    const keys = prepare<[string, number]>('SELECT guid, seq FROM operations');
    for (const statement of Object.values(keys)) statement.raw(true);
    this.#keys = keys;
    const snapshot = (form: SnapshotForm) =>
      db.prepare<[string], string | null>(`SELECT ${SNAPSHOT_JSON[form]} FROM operations WHERE guid = ?`).pluck();
    this.#snapshot = perForm(snapshot);
    this.#row = db.prepare<[string], OperationRow>(
      `SELECT ${OPERATION_COLUMNS.join(', ')} FROM operations WHERE guid = ?`,
    );
  }

  /** The page's rows, for the record mapping. */
  records(appId: string, filter: ListFilter, page?: ListPage, direction?: TransferDirection): OperationRow[] {
    return this.#records[filter.kind].all(...params(appId, filter, page, direction));
  }

  /**
   * The page's snapshots as JSON text, objects or rows (core/snapshot-row.ts). A damaged row throws
   * BT_ERR_STORE naming it (rowToRecord).
   */
  snapshots(
    appId: string,
    filter: ListFilter,
    page?: ListPage,
    direction?: TransferDirection,
    form: SnapshotForm = 'objects',
  ): SnapshotRow[] {
    const at = params(appId, filter, page, direction);
    const keys = this.#keys[filter.kind].all(...at);
    const texts = this.#texts[form];
    let missing = 0;
    for (const [guid] of keys) if (!texts.has(guid)) missing++;
    if (missing > MANY_MISSING) return this.#readPage(form, filter, at);
    return keys.map(([guid, seq]): SnapshotRow => {
      let json = texts.get(guid);
      if (json === undefined) {
        json = this.#snapshot[form].get(guid) ?? this.#refuse(guid);
        this.#keep(texts, guid, json);
      }
      return [guid, seq, json];
    });
  }

  /** The operation's row changed: its kept texts (if any) are no longer its snapshot. */
  forget(guid: string): void {
    for (const form of FORMS) this.#texts[form].delete(guid);
  }

  #readPage(form: SnapshotForm, filter: ListFilter, at: Params): SnapshotRow[] {
    const rows = this.#snapshots[form][filter.kind].all(...at);
    const texts = this.#texts[form];
    for (const row of rows) {
      if (row[2] === null) this.#refuse(row[0]);
      this.#keep(texts, row[0], row[2]);
    }
    // Every row's text was checked above.
    return rows as SnapshotRow[];
  }

  #keep(texts: Map<string, string>, guid: string, json: string): void {
    if (texts.size < MAX_KEPT_TEXTS) texts.set(guid, json);
  }

  #refuse(guid: string): never {
    const row = this.#row.get(guid);
    if (row !== undefined) rowToRecord(row);
    throw new TransferError('BT_ERR_STORE', `operation ${guid}: the row cannot be listed`);
  }
}

/** One page of one filter's enumeration, selecting `select` (exported for the query-plan test). */
export function pageSql(select: string, kind: ListFilter['kind']): string {
  return `${select} WHERE ${WHERE[kind]} ${PAGE}`;
}

function params(appId: string, filter: ListFilter, page?: ListPage, direction?: TransferDirection): Params {
  const after = page?.after ?? FROM_START;
  const tail = [
    direction === undefined ? BOTH_DIRECTIONS : JSON.stringify([direction]),
    after.seq,
    after.guid,
    page?.limit ?? -1,
  ];
  switch (filter.kind) {
    case 'group':
      return [appId, filter.group, ...tail];
    case 'transferGroup':
      return [appId, filter.name, ...tail];
    default:
      return [appId, ...tail];
  }
}
