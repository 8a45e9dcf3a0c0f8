import type { RequestExtrasInput } from '../core/operation-extras.ts';
import type {
  CompletionTask,
  ListFilter,
  OperationChange,
  OperationSnapshot,
  OperationSpec,
} from '../core/snapshot.ts';
import type { RowForm } from '../core/snapshot-row.ts';
import type { ListCursor } from '../store/operation-record.ts';
import { MAX_LIST_PAGE } from './frames.ts';

/**
 * The transfer host's remote methods, declared once as types. Each has its params (checked by the
 * host: request-check.ts), its result (checked by the client: host-message.ts) and a scope:
 *
 *   app         a call on the app's operations. The host's TransferService has a method of the same
 *               name taking (CallContext, params) — AppService (invoke-method.ts) makes the compiler
 *               hold it to that — and both ports (TransferPort.call) and the host's dispatch forward
 *               it by name. Adding one is this table, method-names.ts, the hand checks and that
 *               service method.
 *   connection  about the connection itself (hello, watches, host status, shutdown): the socket
 *               server and client handle these.
 *
 * test/schemas/method-schemas.ts states every method as zod schemas: the reference the hand checks
 * are tested against, and the compiler holds this table to it (docs/architecture.md, "Checking what
 * crosses the socket"). Which calls the socket client may send once more after a lost connection is
 * call-retry.ts.
 */

export { MAX_LIST_PAGE };

/** A start's spec as a client may send it: its extras may leave out the fields that have defaults. */
export type OperationSpecInput = Omit<OperationSpec, 'extras'> & { extras?: RequestExtrasInput | undefined };

/** An empty params or result object. */
export type Empty = Record<string, never>;

/** What `bgtransfer host status` shows. Counts are the calling app's operations by status name. */
export interface HostStatus {
  pid: number;
  uptimeMs: number;
  home: string;
  protocolVersion: number;
  appId: string;
  counts: Record<string, number>;
  /** Connections that completed `hello`, this one included. */
  clients: number;
}

interface HelloResult {
  protocolVersion: number;
  pid: number;
  home: string;
  /**
   * The host ends a watch itself once it pushed the operation's final snapshot, so the client sends
   * no `unwatch` then (a host without it keeps the watch until unwatched).
   */
  finalEndsWatch?: boolean | undefined;
  /** The compact forms of a listPage reply this host sends when asked (core/snapshot-row.ts). */
  listForms?: string[] | undefined;
  /** `start` takes a `watchId`: the start and its watch are one request (below). */
  startWatches?: boolean | undefined;
}

type Direction = 'upload' | 'download';
type ByGuid = { guid: string };

/**
 * One method: `params` as a client sends them, `valid` as the host reads them after its checks
 * (defaults filled in), `result` as the client gets it after its checks.
 */
interface MethodType<Scope extends 'app' | 'connection', Params, Result, Valid = Params> {
  scope: Scope;
  params: Params;
  valid: Valid;
  result: Result;
}

/** Every method of the host. */
export interface Methods {
  hello: MethodType<'connection', { protocolVersion: number; appId: string }, HelloResult>;
  /**
   * Idempotent per guid on the host (TransferService.start), so the client may re-send it. With a
   * `watchId` (sent only to a host whose hello offered startWatches) the operation is watched from the
   * moment it is stored, as `watch` would: the reply's snapshot is the watch's current one (it is not
   * pushed again), later changes are pushed under that id. A refused start starts no watch.
   */
  start: MethodType<
    'app',
    { spec: OperationSpecInput; watchId?: number | undefined },
    OperationSnapshot,
    { spec: OperationSpec; watchId?: number | undefined }
  >;
  /**
   * An empty file the host created for one stream upload; `start` names it by spoolId. Retried: a
   * spool made by a host that died during the call is removed by the next host.
   */
  createSpool: MethodType<'app', Empty, { spoolId: string; path: string }>;
  releaseSpool: MethodType<'app', { spoolId: string }, Empty>;
  /**
   * R22–R24: the app's operations, by filter, in one reply (kept for clients that predate listPage).
   * direction: only uploads (getCurrentUploadsAsync) or only downloads; absent: both (`bgtransfer list`).
   */
  list: MethodType<'app', { filter: ListFilter; direction?: Direction | undefined }, OperationSnapshot[]>;
  /**
   * list() a page at a time, in queue order: up to `limit` operations after `after` (null: the first
   * page), and the cursor of the next page (null: that was the last). The socket client's `list` is
   * made of these, so 10,000 operations cross in frames of hundreds of KB, not one of megabytes, and
   * the host never holds them all at once. `form` is sent only to a host whose hello listed it.
   */
  listPage: MethodType<
    'app',
    {
      filter: ListFilter;
      after: ListCursor | null;
      limit: number;
      direction?: Direction | undefined;
      form?: RowForm | undefined;
    },
    { operations: OperationSnapshot[]; next: ListCursor | null }
  >;
  get: MethodType<'app', ByGuid, OperationSnapshot>;
  cancel: MethodType<'app', ByGuid, OperationSnapshot>;
  /** A repeated setHeader joins the value twice (R63): call-retry.ts re-sends it only without one. */
  update: MethodType<'app', { guid: string; change: OperationChange }, OperationSnapshot>;
  /**
   * pause and resume go beyond Windows (pausedByApplication survives restarts); makeCurrent is R32.
   * Each sets a state, so sending one twice is harmless.
   */
  pause: MethodType<'app', ByGuid, OperationSnapshot>;
  resume: MethodType<'app', ByGuid, OperationSnapshot>;
  makeCurrent: MethodType<'app', ByGuid, OperationSnapshot>;
  /**
   * R78–R80: records the group with its task and enables it; the task runs once every member ended.
   * Idempotent on the host: the group is created once, enabling it again changes nothing.
   */
  enableCompletionGroup: MethodType<'app', { group: { id: string; task: CompletionTask } }, Empty>;
  /** The client picks watchId (unique per connection), so it can re-send the same watch after a reconnect. */
  watch: MethodType<'connection', { guid: string; watchId: number }, { watchId: number }>;
  unwatch: MethodType<'connection', { watchId: number }, Empty>;
  status: MethodType<'connection', Empty, HostStatus>;
  shutdown: MethodType<'connection', Empty, Empty>;
}

export type Method = keyof Methods;
export type ParamsOf<M extends Method> = Methods[M]['params'];
/** Params as the host reads them, after validation. */
export type ValidParamsOf<M extends Method> = Methods[M]['valid'];
export type ResultOf<M extends Method> = Methods[M]['result'];

/** The methods on an app's operations (scope 'app'). */
export type AppMethod = { [M in Method]: Methods[M]['scope'] extends 'app' ? M : never }[Method];

// isMethod and isAppMethod, which the host runs, are in method-names.ts.
