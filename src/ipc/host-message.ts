import { ERROR_DEFINITIONS, type ErrorCode, type SerializedTransferError } from '../core/errors.ts';
import { COMPACT_ROW_FORM } from '../core/snapshot-row.ts';
import { hostVersionMismatch, PROTOCOL_VERSION, type PushFrame, protocolError, type ReplyFrame } from './frames.ts';
import type { Method, ResultOf } from './methods.ts';
import { boolean, count, fail, integer, number, record, ShapeCheckError, string } from './shape-check.ts';
import { checkSnapshot, checkSnapshotRows, checkSnapshots } from './snapshot-check.ts';

/**
 * The client's check of what the host sends: the envelopes and each method's result, by hand, with the
 * verdicts and outputs of the schemas in methods.ts (`host-message.test.ts` holds them together on valid
 * and broken frames). The socket client is what every app, `bgtransfer upload` and `bgtransfer list`
 * load: zod and its schemas cost more start-up than the rest of the client together.
 *
 * As with the schemas, a plain object (`z.object`) keeps only the fields it knows, a snapshot keeps
 * every field (a newer host's too), and an error code this version does not know is BT_ERR_INTERNAL.
 */

export type HostMessage = { kind: 'reply'; frame: ReplyFrame } | { kind: 'push'; frame: PushFrame };

/** Parses one line from the host; throws BT_ERR_IPC_PROTOCOL for anything that is not a valid message. */
export function parseHostMessage(line: string): HostMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw protocolError('the host sent a frame that is not valid JSON');
  }
  // Checked before the envelope: a host of another version answers in its own envelope, and what its
  // frame says beyond `v` (e.g. "bad params" for a request it does not know) would mislead.
  const version = (raw as { v?: unknown } | null)?.v;
  if (typeof version === 'number' && Number.isInteger(version) && version !== PROTOCOL_VERSION) {
    throw hostVersionMismatch(version);
  }
  try {
    const isPush = typeof raw === 'object' && raw !== null && 'push' in raw;
    return isPush ? { kind: 'push', frame: pushFrame(raw) } : { kind: 'reply', frame: replyFrame(raw) };
  } catch (error) {
    if (error instanceof ShapeCheckError) throw protocolError(`the host sent a bad message: ${error.message}`);
    throw error;
  }
}

/** Checks a successful reply's result as the method's result schema does. */
export function parseResult<M extends Method>(method: M, result: unknown): ResultOf<M> {
  try {
    // RESULT_CHECKS[method] checks what ResultOf<M> declares (host-message.test.ts compares it with the schema).
    return RESULT_CHECKS[method](result) as ResultOf<M>;
  } catch (error) {
    if (error instanceof ShapeCheckError) {
      throw protocolError(`bad ${method} result from the host: ${error.message}`);
    }
    throw error;
  }
}

function version(frame: Record<string, unknown>): typeof PROTOCOL_VERSION {
  if (frame.v !== PROTOCOL_VERSION) fail('', `${PROTOCOL_VERSION}`, 'v');
  return PROTOCOL_VERSION;
}

/** requestId of methods.ts: an integer from 0 to MAX_SAFE_INTEGER, or null. */
function replyId(frame: Record<string, unknown>): number | null {
  if (frame.id === null) return null;
  count(frame.id, '', 'id');
  return frame.id as number;
}

function replyFrame(raw: unknown): ReplyFrame {
  const frame = record(raw, '');
  const v = version(frame);
  const id = replyId(frame);
  if (frame.ok === true) return { v, id, ok: true, result: frame.result };
  if (frame.ok === false) return { v, id, ok: false, error: serializedError(frame.error) };
  return fail('', 'true or false', 'ok');
}

function pushFrame(raw: unknown): PushFrame {
  const frame = record(raw, '');
  const v = version(frame);
  if (frame.push !== 'snapshot') fail('', '"snapshot"', 'push');
  const watchId = positive(frame.watchId, '', 'watchId');
  return { v, push: 'snapshot', watchId, snapshot: checkSnapshot(frame.snapshot, 'snapshot') };
}

/** serializedError of methods.ts: code, message and httpStatus only; an unknown code is BT_ERR_INTERNAL. */
function serializedError(value: unknown): SerializedTransferError {
  const error = record(value, '', 'error');
  string(error.code, '', 'error.code');
  string(error.message, '', 'error.message');
  const code = Object.hasOwn(ERROR_DEFINITIONS, error.code as string) ? (error.code as ErrorCode) : 'BT_ERR_INTERNAL';
  const checked: SerializedTransferError = { code, message: error.message as string };
  if (error.httpStatus !== undefined) {
    integer(error.httpStatus, '', 'error.httpStatus');
    checked.httpStatus = error.httpStatus as number;
  }
  return checked;
}

/** watchId of methods.ts: an integer from 1 to MAX_SAFE_INTEGER. */
function positive(value: unknown, path: string, key: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) fail(path, 'an integer ≥ 1', key);
  return value as number;
}

function stringList(value: unknown, key: string): string[] {
  if (!Array.isArray(value)) fail(R, 'an array of strings', key);
  for (let index = 0; index < value.length; index++) string(value[index], R, `${key}[${index}]`);
  return value as string[];
}

function nonEmptyString(value: unknown, path: string, key: string, max: number): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > max) {
    fail(path, `a string of 1 to ${max} characters`, key);
  }
  return value;
}

const R = 'result';

function snapshotResult(value: unknown) {
  return checkSnapshot(value, R);
}

/** The `{}` of a call that answers nothing: any object, whose fields are dropped. */
function done(value: unknown): Record<string, never> {
  record(value, R);
  return {};
}

function snapshotList(value: unknown) {
  return checkSnapshots(value, 'operations');
}

/** listCursor of methods.ts: exactly `{ seq, guid }`. */
function listCursor(value: unknown): { seq: number; guid: string } | null {
  if (value === null) return null;
  const cursor = record(value, R, 'next');
  for (const key of Object.keys(cursor)) {
    if (key !== 'seq' && key !== 'guid') fail(R, 'no other field', `next.${key}`);
  }
  integer(cursor.seq, R, 'next.seq');
  return { seq: cursor.seq as number, guid: nonEmptyString(cursor.guid, R, 'next.guid', 200) };
}

/**
 * One check per method. Typed loosely: a snapshot result's type is the schema's output (with an index
 * signature for a newer host's fields) where checkSnapshot returns OperationSnapshot; the test compares
 * the values.
 */
const RESULT_CHECKS: { [M in Method]: (value: unknown) => unknown } = {
  hello: (value) => {
    const hello = record(value, R);
    integer(hello.protocolVersion, R, 'protocolVersion');
    integer(hello.pid, R, 'pid');
    string(hello.home, R, 'home');
    // Every optional field the hello schema declares is checked and kept here: a field dropped here is
    // a host feature the client never learns of (and so never uses).
    const result: {
      protocolVersion: number;
      pid: number;
      home: string;
      finalEndsWatch?: boolean;
      listForms?: string[];
      startWatches?: boolean;
    } = {
      protocolVersion: hello.protocolVersion as number,
      pid: hello.pid as number,
      home: hello.home as string,
    };
    if (hello.finalEndsWatch !== undefined) {
      boolean(hello.finalEndsWatch, R, 'finalEndsWatch');
      result.finalEndsWatch = hello.finalEndsWatch as boolean;
    }
    if (hello.listForms !== undefined) result.listForms = stringList(hello.listForms, 'listForms');
    if (hello.startWatches !== undefined) {
      boolean(hello.startWatches, R, 'startWatches');
      result.startWatches = hello.startWatches as boolean;
    }
    return result;
  },
  start: snapshotResult,
  createSpool: (value) => {
    const spool = record(value, R);
    string(spool.spoolId, R, 'spoolId');
    string(spool.path, R, 'path');
    return { spoolId: spool.spoolId as string, path: spool.path as string };
  },
  releaseSpool: done,
  list: snapshotList,
  // A page as objects, or (asked for by a client that saw the form in hello) as its app id and rows:
  // `rows` of rows1, `rows2` of rows2 (core/snapshot-row.ts).
  listPage: (value) => {
    const page = record(value, R);
    if (page.appId !== undefined) string(page.appId, R, 'appId');
    const next = listCursor(page.next);
    const appId = page.appId as string;
    const operations =
      page.appId === undefined
        ? snapshotList(page.operations)
        : page.rows2 !== undefined
          ? checkSnapshotRows(page.rows2, appId, 'rows2', COMPACT_ROW_FORM)
          : page.rows !== undefined
            ? checkSnapshotRows(page.rows, appId, 'rows')
            : snapshotList(page.operations);
    return { operations, next };
  },
  get: snapshotResult,
  cancel: snapshotResult,
  update: snapshotResult,
  pause: snapshotResult,
  resume: snapshotResult,
  makeCurrent: snapshotResult,
  enableCompletionGroup: done,
  watch: (value) => ({ watchId: positive(record(value, R).watchId, R, 'watchId') }),
  unwatch: done,
  status: (value) => {
    const status = record(value, R);
    integer(status.pid, R, 'pid');
    number(status.uptimeMs, R, 'uptimeMs');
    string(status.home, R, 'home');
    integer(status.protocolVersion, R, 'protocolVersion');
    string(status.appId, R, 'appId');
    const counts = record(status.counts, R, 'counts');
    const checkedCounts: Record<string, number> = {};
    for (const [name, value] of Object.entries(counts)) {
      count(value, R, `counts.${name}`);
      checkedCounts[name] = value as number;
    }
    count(status.clients, R, 'clients');
    return {
      pid: status.pid as number,
      uptimeMs: status.uptimeMs as number,
      home: status.home as string,
      protocolVersion: status.protocolVersion as number,
      appId: status.appId as string,
      counts: checkedCounts,
      clients: status.clients as number,
    };
  },
  shutdown: done,
};
