import { z } from 'zod';
import {
  BackgroundTransferBehavior,
  BackgroundTransferCostPolicy,
  BackgroundTransferPriority,
  BackgroundTransferStatus,
} from '../../src/core/enums.ts';
import {
  ERROR_DEFINITIONS,
  type ErrorCode,
  type SerializedTransferError,
  TransferError,
} from '../../src/core/errors.ts';
import type {
  CompletionTask,
  ListFilter,
  OperationChange,
  OperationSnapshot,
  OperationSpec,
  ProgressSnapshot,
  ResponseSnapshot,
} from '../../src/core/snapshot.ts';
import { COMPACT_ROW_FORM, SNAPSHOT_ROW_FORM } from '../../src/core/snapshot-row.ts';
import { MAX_LIST_PAGE } from '../../src/ipc/frames.ts';
import type * as Plain from '../../src/ipc/methods.ts';
import { ShapeCheckError } from '../../src/ipc/shape-check.ts';
import { checkSnapshotRows, checkSnapshots } from '../../src/ipc/snapshot-check.ts';
import type { ListCursor } from '../../src/store/operation-record.ts';
import { requestExtrasSchema } from './extras-schemas.ts';
import type { Equal, Expect } from './type-equality.ts';

/**
 * The transfer host's remote methods (src/ipc/methods.ts) as zod schemas: each method's params and
 * result, the reference that the host's hand checks of a request (ipc/request-check.ts) and the
 * client's of a reply (ipc/host-message.ts, ipc/snapshot-check.ts) are tested against. Tests only:
 * the package has no zod at run time, and its published types are the plain ones of methods.ts, which
 * the compiler holds to these below.
 */

// Data transfer objects (core/snapshot.ts), checked against their TypeScript types with `satisfies`.

const text = z.string().max(64 * 1024);
const guid = z.string().min(1).max(200);
const appId = z.string().min(1).max(1024);
const headerPair = z.tuple([text, text]);
export const requestId = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const watchId = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const count = z.number().int().min(0);

const transferGroup = z.strictObject({
  name: text,
  transferBehavior: z.enum(BackgroundTransferBehavior),
});

/**
 * What an app may ask for, and nothing else: a field the engine keeps for itself (a spool path, a
 * resume session, a probe result, an offset) is refused by name rather than silently dropped, so a
 * forged or confused client learns what it did wrong.
 */
const operationSpec = z.strictObject(
  {
    guid,
    appId,
    method: text,
    requestedUri: text,
    sourcePath: z.string().min(1).max(4096).nullable(),
    headers: z.array(headerPair).max(1000),
    costPolicy: z.enum(BackgroundTransferCostPolicy),
    priority: z.enum(BackgroundTransferPriority),
    group: text.nullable(),
    transferGroup: transferGroup.nullable(),
    extras: requestExtrasSchema.optional(),
    download: z.strictObject({ resultPath: z.string().min(1).max(4096) }).optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `spec may not carry ${issue.keys.join(', ')}: a client sends only what an app asks for; the engine keeps its own state`
        : undefined,
  },
) satisfies z.ZodType<OperationSpec>;

const listFilter = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('ungrouped') }),
  z.strictObject({ kind: z.literal('group'), group: text }),
  z.strictObject({ kind: z.literal('transferGroup'), name: text }),
  z.strictObject({ kind: z.literal('all') }),
]) satisfies z.ZodType<ListFilter>;

const listCursor = z.strictObject({ seq: z.number().int(), guid }) satisfies z.ZodType<ListCursor>;

export { MAX_LIST_PAGE };

const operationChange = z.strictObject({
  costPolicy: z.enum(BackgroundTransferCostPolicy).optional(),
  priority: z.enum(BackgroundTransferPriority).optional(),
  setHeader: headerPair.optional(),
  removeHeader: text.optional(),
  requestedUri: text.optional(),
  recoverableWebErrorStatuses: z.array(z.number().int().min(0).max(1000)).max(64).optional(),
}) satisfies z.ZodType<OperationChange>;

/** A code this version does not know (a newer host) still arrives as a coded error: BT_ERR_INTERNAL. */
const errorCode = z
  .string()
  .transform((code): ErrorCode => (code in ERROR_DEFINITIONS ? (code as ErrorCode) : 'BT_ERR_INTERNAL'));

export const serializedError = z.object({
  code: errorCode,
  message: z.string(),
  httpStatus: z.number().int().optional(),
}) satisfies z.ZodType<SerializedTransferError, unknown>;

// Host → app objects: known fields are checked, unknown ones kept (a newer host, or a field added to
// core/snapshot.ts that this file does not know yet, must not be dropped on the way).
const progress = z.looseObject({
  bytesSent: count,
  totalBytesToSend: count,
  bytesReceived: count,
  totalBytesToReceive: count,
  status: z.enum(BackgroundTransferStatus),
  hasResponseChanged: z.boolean(),
  hasRestarted: z.boolean(),
}) satisfies z.ZodType<ProgressSnapshot>;

const response = z.looseObject({
  statusCode: z.number().int(),
  actualUri: z.string(),
  isResumable: z.boolean(),
  headers: z.array(z.tuple([z.string(), z.string()])),
  bodyTruncated: z.boolean().optional(),
}) satisfies z.ZodType<ResponseSnapshot>;

export const snapshotSchema = z.looseObject({
  guid: z.string(),
  appId: z.string(),
  method: z.string(),
  requestedUri: z.string(),
  sourcePath: z.string().nullable(),
  group: z.string().nullable(),
  transferGroup: z.looseObject({ name: z.string(), transferBehavior: z.enum(BackgroundTransferBehavior) }).nullable(),
  costPolicy: z.enum(BackgroundTransferCostPolicy),
  priority: z.enum(BackgroundTransferPriority),
  progress,
  responseVersion: count,
  response: response.nullable(),
  error: serializedError.nullable(),
  createdAtMs: z.number(),
  // A host that predates the field sends none: no digest known.
  contentDigest: z.string().nullable().default(null),
  // A host that predates downloads sends neither: an upload.
  direction: z.enum(['upload', 'download']).default('upload'),
  resultPath: z.string().nullable().default(null),
  isRandomAccessRequired: z.boolean().optional(),
  recoverableWebErrorStatuses: z.array(z.number()).optional(),
  expectedContentDigest: z.string().nullable().optional(),
}) satisfies z.ZodType<OperationSnapshot, unknown>;

/**
 * An enumeration's snapshots, checked by hand (snapshot-check.ts: the rules of snapshotSchema at a
 * hundredth of the cost). A broken one fails the reply with BT_ERR_IPC_PROTOCOL naming the path, as
 * parseResult reports any other bad result.
 */
function snapshotList(method: string) {
  return z.unknown().transform((value) => checked(method, () => checkSnapshots(value, 'operations')));
}

function checked(method: string, check: () => OperationSnapshot[]): OperationSnapshot[] {
  try {
    return check();
  } catch (error) {
    if (!(error instanceof ShapeCheckError)) throw error;
    throw new TransferError('BT_ERR_IPC_PROTOCOL', `bad ${method} result from the host: ${error.message}`);
  }
}

/**
 * A page as objects (`operations`) or, when the client asked for rows, as the page's app id and its
 * `rows` (rows1) or `rows2` (core/snapshot-row.ts); either way the client gets checked snapshot objects.
 */
const listPageResult = z
  .object({
    operations: z.unknown().optional(),
    appId: z.string().optional(),
    rows: z.unknown().optional(),
    rows2: z.unknown().optional(),
    next: listCursor.nullable(),
  })
  .transform(({ operations, appId, rows, rows2, next }) => ({
    operations: checked('listPage', () =>
      appId === undefined
        ? checkSnapshots(operations, 'operations')
        : rows2 !== undefined
          ? checkSnapshotRows(rows2, appId, 'rows2', COMPACT_ROW_FORM)
          : rows !== undefined
            ? checkSnapshotRows(rows, appId, 'rows')
            : checkSnapshots(operations, 'operations'),
    ),
    next,
  }));

/** What `bgtransfer host status` shows. Counts are the calling app's operations by status name. */
const hostStatus = z.object({
  pid: z.number().int(),
  uptimeMs: z.number(),
  home: z.string(),
  protocolVersion: z.number().int(),
  appId: z.string(),
  counts: z.record(z.string(), count),
  /** Connections that completed `hello`, this one included. */
  clients: count,
});
export type HostStatus = z.infer<typeof hostStatus>;

const completionTask = z.strictObject({
  command: z.string().min(1).max(4096),
  args: z.array(text).max(1000),
  cwd: z.string().max(4096).nullable(),
}) satisfies z.ZodType<CompletionTask>;

const empty = z.strictObject({});
const byGuid = z.strictObject({ guid });

const done = z.object({});

/** Each method's params (validated by the host), result (checked by the client, host-message.ts) and scope. */
export const METHODS = {
  hello: {
    scope: 'connection',
    params: z.strictObject({ protocolVersion: z.number().int(), appId }),
    /**
     * `finalEndsWatch`: the host ends a watch itself once it pushed the operation's final snapshot, so
     * the client sends no `unwatch` then (a host without it keeps the watch until unwatched).
     */
    result: z.object({
      protocolVersion: z.number().int(),
      pid: z.number().int(),
      home: z.string(),
      finalEndsWatch: z.boolean().optional(),
      /** The compact forms of a listPage reply this host sends when asked (core/snapshot-row.ts). */
      listForms: z.array(z.string()).optional(),
      /** `start` takes a `watchId`: the start and its watch are one request (below). */
      startWatches: z.boolean().optional(),
    }),
  },
  /**
   * Idempotent per guid on the host (TransferService.start), so the client may re-send it. With a
   * `watchId` (sent only to a host whose hello offered startWatches) the operation is watched from the
   * moment it is stored, as `watch` would: the reply's snapshot is the watch's current one (it is not
   * pushed again), later changes are pushed under that id. A refused start starts no watch.
   */
  start: {
    scope: 'app',
    params: z.strictObject({ spec: operationSpec, watchId: watchId.optional() }),
    result: snapshotSchema,
  },
  /**
   * An empty file the host created for one stream upload; `start` names it by spoolId. Retried: a
   * spool made by a host that died during the call is removed by the next host.
   */
  createSpool: {
    scope: 'app',

    params: empty,
    result: z.object({ spoolId: z.string(), path: z.string() }),
  },
  releaseSpool: { scope: 'app', params: z.strictObject({ spoolId: text }), result: done },
  /** R22–R24: the app's operations, by filter, in one reply (kept for clients that predate listPage). */
  list: {
    scope: 'app',

    // direction: only uploads (getCurrentUploadsAsync) or only downloads; absent: both (`bgtransfer list`).
    params: z.strictObject({ filter: listFilter, direction: z.enum(['upload', 'download']).optional() }),
    result: snapshotList('list'),
  },
  /**
   * list() a page at a time, in queue order: up to `limit` operations after `after` (null: the first
   * page), and the cursor of the next page (null: that was the last). The socket client's `list` is
   * made of these, so 10,000 operations cross in frames of hundreds of KB, not one of megabytes, and
   * the host never holds them all at once.
   */
  listPage: {
    scope: 'app',

    params: z.strictObject({
      filter: listFilter,
      after: listCursor.nullable(),
      limit: z.number().int().min(1).max(MAX_LIST_PAGE),
      // As list's: one direction, or both when absent.
      direction: z.enum(['upload', 'download']).optional(),
      // Sent only to a host whose hello listed it: an older host refuses params it does not know.
      form: z.enum([SNAPSHOT_ROW_FORM, COMPACT_ROW_FORM]).optional(),
    }),
    result: listPageResult,
  },
  get: { scope: 'app', params: byGuid, result: snapshotSchema },
  cancel: { scope: 'app', params: byGuid, result: snapshotSchema },
  /** A repeated setHeader joins the value twice (R63): call-retry.ts re-sends it only without one. */
  update: {
    scope: 'app',
    params: z.strictObject({ guid, change: operationChange }),
    result: snapshotSchema,
  },
  /**
   * pause and resume go beyond Windows (pausedByApplication survives restarts); makeCurrent is R32.
   * Each sets a state, so sending one twice is harmless.
   */
  pause: { scope: 'app', params: byGuid, result: snapshotSchema },
  resume: { scope: 'app', params: byGuid, result: snapshotSchema },
  makeCurrent: { scope: 'app', params: byGuid, result: snapshotSchema },
  /**
   * R78–R80: records the group with its task and enables it; the task runs once every member ended.
   * Idempotent on the host: the group is created once, enabling it again changes nothing.
   */
  enableCompletionGroup: {
    scope: 'app',

    params: z.strictObject({ group: z.strictObject({ id: text, task: completionTask }) }),
    result: done,
  },
  /** The client picks watchId (unique per connection), so it can re-send the same watch after a reconnect. */
  watch: {
    scope: 'connection',
    params: z.strictObject({ guid, watchId }),
    result: z.object({ watchId }),
  },
  unwatch: { scope: 'connection', params: z.strictObject({ watchId }), result: done },
  status: { scope: 'connection', params: empty, result: hostStatus },
  shutdown: { scope: 'connection', params: empty, result: done },
} as const;

type Methods = typeof METHODS;
export type Method = keyof Methods;
export type ParamsOf<M extends Method> = z.input<Methods[M]['params']>;
export type ValidParamsOf<M extends Method> = z.output<Methods[M]['params']>;
export type ResultOf<M extends Method> = z.output<Methods[M]['result']>;

/** Each method's plain params equal the schema's input, its plain valid params the schema's output. */
type ParamsMatch = {
  [M in Method]: Equal<Plain.ParamsOf<M>, ParamsOf<M>> & Equal<Plain.ValidParamsOf<M>, ValidParamsOf<M>>;
};
/** What the client's checks produce can be used as the plain result (the schemas keep unknown fields too). */
type ResultsMatch = { [M in Method]: ResultOf<M> extends Plain.ResultOf<M> ? true : false };
/** The same methods with the same scopes. */
type ScopesMatch = Equal<{ [M in Method]: Methods[M]['scope'] }, { [M in Plain.Method]: Plain.Methods[M]['scope'] }>;
type AllTrue<T> = T[keyof T] extends true ? true : false;

export type PlainTypesMatch = [
  Expect<AllTrue<ParamsMatch>>,
  Expect<AllTrue<ResultsMatch>>,
  Expect<ScopesMatch>,
  Expect<Equal<Plain.HostStatus, HostStatus>>,
];
