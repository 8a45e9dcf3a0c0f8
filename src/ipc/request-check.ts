import { TransferError } from '../core/errors.ts';
import { COMPACT_ROW_FORM, SNAPSHOT_ROW_FORM } from '../core/snapshot-row.ts';
import { MAX_LIST_PAGE, PROTOCOL_VERSION, protocolError } from './frames.ts';
import { isMethod } from './method-names.ts';
import type { Method, ValidParamsOf } from './methods.ts';
import {
  arrayOf,
  boundedInteger,
  boundedString,
  COST_POLICIES,
  count,
  fail,
  integer,
  member,
  onlyKnown,
  type Path,
  PRIORITIES,
  record,
  ShapeCheckError,
  stringPair,
  TEXT_MAX,
  text,
} from './shape-check.ts';
import { checkSpec, webErrorStatuses } from './start-spec-check.ts';

/**
 * The host's check of every request a client sends (protocol.ts describes the wire): the envelope,
 * then the method's params, by hand, with the verdicts and output of the zod schemas in methods.ts
 * (`request-check.test.ts` holds them together on valid and broken frames). The host runs these
 * instead of the schemas so that it loads no zod: about 4 MiB of its idle memory, 6 MiB with a config.json
 * (docs/performance.md, "Host and library weight").
 */

/** A validated request: `method` narrows `params`. */
export type ValidRequest = {
  [M in Method]: { method: M; params: ValidParamsOf<M> };
}[Method];

/** A request as the host reads it: either valid, or an error to reply with (and the id, if readable). */
export type ParsedRequest =
  | { ok: true; id: number; request: ValidRequest }
  | { ok: false; id: number | null; error: TransferError };

const ENVELOPE_KEYS = new Set(['v', 'id', 'method', 'params']);

/** methods.ts `requestId`: an integer from 0 to MAX_SAFE_INTEGER. */
function isRequestId(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** Parses one line from a client; params are checked by the method's rules. */
export function parseRequest(line: string): ParsedRequest {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { ok: false, id: null, error: protocolError('the frame is not valid JSON') };
  }
  const rawId = (raw as { id?: unknown } | null)?.id;
  const replyId = isRequestId(rawId) ? rawId : null;
  let method: string;
  try {
    // Any integer `v` passes here, so that a client of another version gets told so rather than "bad request".
    const envelope = record(raw, 'frame');
    onlyKnown(envelope, ENVELOPE_KEYS, 'frame');
    integer(envelope.v, 'frame', 'v');
    count(envelope.id, 'frame', 'id');
    if (typeof envelope.method !== 'string') fail('frame', 'a string', 'method');
    // As the schema's: the key must be there, whatever its value.
    if (!Object.hasOwn(envelope, 'params')) fail('frame', 'params (a value)', 'params');
    method = envelope.method;
  } catch (error) {
    if (!(error instanceof ShapeCheckError)) throw error;
    return { ok: false, id: replyId, error: protocolError(`bad request: ${error.message}`) };
  }
  const { v, params } = raw as { v: number; params: unknown };
  if (v !== PROTOCOL_VERSION) {
    return {
      ok: false,
      id: replyId,
      error: protocolError(`the host speaks protocol ${PROTOCOL_VERSION}, the frame v${v}`),
    };
  }
  if (!isMethod(method)) {
    return { ok: false, id: replyId, error: protocolError(`unknown method ${JSON.stringify(method.slice(0, 64))}`) };
  }
  try {
    const checked = PARAMS_CHECKS[method](params);
    return { ok: true, id: replyId as number, request: { method, params: checked } as ValidRequest };
  } catch (error) {
    if (!(error instanceof ShapeCheckError)) throw error;
    const message = `bad params for ${method}: ${error.message}`;
    return { ok: false, id: replyId, error: new TransferError('BT_ERR_INVALID_ARGUMENT', message) };
  }
}

/** Checks a method's params and returns them as the handler takes them; throws ShapeCheckError. */
type ParamsCheck<M extends Method> = (value: unknown) => ValidParamsOf<M>;

/** A strict object of exactly `keys`; its values are checked by the caller. */
function strictParams(value: unknown, keys: ReadonlySet<string>): Record<string, unknown> {
  const params = record(value, 'params');
  onlyKnown(params, keys, 'params');
  return params;
}

function guid(value: unknown, path: Path, key: string): void {
  boundedString(value, path, key, 1, 200);
}

function watchId(value: unknown, path: Path, key: string): void {
  boundedInteger(value, path, key, 1, Number.MAX_SAFE_INTEGER);
}

const NONE = new Set<string>();
const GUID = new Set(['guid']);
const DIRECTIONS = new Set<unknown>(['upload', 'download']);
const FORMS = new Set<unknown>([SNAPSHOT_ROW_FORM, COMPACT_ROW_FORM]);
const FILTER_KEYS: Readonly<Record<string, ReadonlySet<string>>> = {
  ungrouped: new Set(['kind']),
  group: new Set(['kind', 'group']),
  transferGroup: new Set(['kind', 'name']),
  all: new Set(['kind']),
};

/** methods.ts `listFilter`, a strict object per kind. */
function listFilter(value: unknown): void {
  const filter = record(value, 'params', 'filter');
  const keys = typeof filter.kind === 'string' && Object.hasOwn(FILTER_KEYS, filter.kind) && FILTER_KEYS[filter.kind];
  if (!keys) fail('params', '"ungrouped", "group", "transferGroup" or "all"', 'filter.kind');
  onlyKnown(filter, keys, 'params.filter');
  if (filter.kind === 'group') text(filter.group, 'params', 'filter.group');
  if (filter.kind === 'transferGroup') text(filter.name, 'params', 'filter.name');
}

function direction(value: unknown): void {
  if (value !== undefined) member(DIRECTIONS, value, 'params', 'direction', '"upload" or "download"');
}

/** Nothing but the object itself: createSpool, status, shutdown. */
function empty(value: unknown): Record<string, never> {
  return strictParams(value, NONE) as Record<string, never>;
}

function byGuid(value: unknown): { guid: string } {
  const params = strictParams(value, GUID);
  guid(params.guid, 'params', 'guid');
  return params as { guid: string };
}

const HELLO_KEYS = new Set(['protocolVersion', 'appId']);
const START_KEYS = new Set(['spec', 'watchId']);
const SPOOL_KEYS = new Set(['spoolId']);
const LIST_KEYS = new Set(['filter', 'direction']);
const LIST_PAGE_KEYS = new Set(['filter', 'after', 'limit', 'direction', 'form']);
const UPDATE_KEYS = new Set(['guid', 'change']);
const COMPLETION_GROUP_KEYS = new Set(['group']);
const WATCH_KEYS = new Set(['guid', 'watchId']);
const UNWATCH_KEYS = new Set(['watchId']);
const CHANGE_KEYS = new Set([
  'costPolicy',
  'priority',
  'setHeader',
  'removeHeader',
  'requestedUri',
  'recoverableWebErrorStatuses',
]);
const CURSOR_KEYS = new Set(['seq', 'guid']);
const GROUP_KEYS = new Set(['id', 'task']);
const TASK_KEYS = new Set(['command', 'args', 'cwd']);

const PARAMS_CHECKS: { [M in Method]: ParamsCheck<M> } = {
  hello(value) {
    const params = strictParams(value, HELLO_KEYS);
    integer(params.protocolVersion, 'params', 'protocolVersion');
    boundedString(params.appId, 'params', 'appId', 1, 1024);
    return params as ValidParamsOf<'hello'>;
  },
  start(value) {
    const params = strictParams(value, START_KEYS);
    checkSpec(params.spec, 'params.spec');
    if (params.watchId !== undefined) watchId(params.watchId, 'params', 'watchId');
    return params as ValidParamsOf<'start'>;
  },
  createSpool: empty,
  releaseSpool(value) {
    const params = strictParams(value, SPOOL_KEYS);
    text(params.spoolId, 'params', 'spoolId');
    return params as ValidParamsOf<'releaseSpool'>;
  },
  list(value) {
    const params = strictParams(value, LIST_KEYS);
    listFilter(params.filter);
    direction(params.direction);
    return params as ValidParamsOf<'list'>;
  },
  listPage(value) {
    const params = strictParams(value, LIST_PAGE_KEYS);
    listFilter(params.filter);
    if (params.after !== null) {
      const after = record(params.after, 'params', 'after');
      onlyKnown(after, CURSOR_KEYS, 'params.after');
      integer(after.seq, 'params', 'after.seq');
      guid(after.guid, 'params', 'after.guid');
    }
    boundedInteger(params.limit, 'params', 'limit', 1, MAX_LIST_PAGE);
    direction(params.direction);
    if (params.form !== undefined)
      member(FORMS, params.form, 'params', 'form', `"${SNAPSHOT_ROW_FORM}" or "${COMPACT_ROW_FORM}"`);
    return params as ValidParamsOf<'listPage'>;
  },
  get: byGuid,
  cancel: byGuid,
  update(value) {
    const params = strictParams(value, UPDATE_KEYS);
    guid(params.guid, 'params', 'guid');
    const change = record(params.change, 'params', 'change');
    onlyKnown(change, CHANGE_KEYS, 'params.change');
    const path = 'params.change';
    if (change.costPolicy !== undefined) {
      member(COST_POLICIES, change.costPolicy, path, 'costPolicy', 'a BackgroundTransferCostPolicy');
    }
    if (change.priority !== undefined)
      member(PRIORITIES, change.priority, path, 'priority', 'a BackgroundTransferPriority');
    if (change.setHeader !== undefined) stringPair(change.setHeader, path, 'setHeader', TEXT_MAX);
    if (change.removeHeader !== undefined) text(change.removeHeader, path, 'removeHeader');
    if (change.requestedUri !== undefined) text(change.requestedUri, path, 'requestedUri');
    if (change.recoverableWebErrorStatuses !== undefined) {
      webErrorStatuses(change.recoverableWebErrorStatuses, path, 'recoverableWebErrorStatuses');
    }
    return params as ValidParamsOf<'update'>;
  },
  pause: byGuid,
  resume: byGuid,
  makeCurrent: byGuid,
  enableCompletionGroup(value) {
    const params = strictParams(value, COMPLETION_GROUP_KEYS);
    const group = record(params.group, 'params', 'group');
    onlyKnown(group, GROUP_KEYS, 'params.group');
    text(group.id, 'params', 'group.id');
    const task = record(group.task, 'params', 'group.task');
    onlyKnown(task, TASK_KEYS, 'params.group.task');
    boundedString(task.command, 'params', 'group.task.command', 1, 4096);
    const args = arrayOf(task.args, 'params', 'group.task.args', 1000);
    for (let index = 0; index < args.length; index++) text(args[index], 'params', `group.task.args[${index}]`);
    if (task.cwd !== null) boundedString(task.cwd, 'params', 'group.task.cwd', 0, 4096);
    return params as ValidParamsOf<'enableCompletionGroup'>;
  },
  watch(value) {
    const params = strictParams(value, WATCH_KEYS);
    guid(params.guid, 'params', 'guid');
    watchId(params.watchId, 'params', 'watchId');
    return params as ValidParamsOf<'watch'>;
  },
  unwatch(value) {
    const params = strictParams(value, UNWATCH_KEYS);
    watchId(params.watchId, 'params', 'watchId');
    return params as ValidParamsOf<'unwatch'>;
  },
  status: empty,
  shutdown: empty,
};
