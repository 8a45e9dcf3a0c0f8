import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { TransferError } from '../../src/core/errors.ts';
import type { OperationSnapshot } from '../../src/core/snapshot.ts';
import { COMPACT_ROW_FORM, toSnapshotRow } from '../../src/core/snapshot-row.ts';
import { PROTOCOL_VERSION } from '../../src/ipc/frames.ts';
import { parseHostMessage, parseResult } from '../../src/ipc/host-message.ts';
import { COMPLETED_UPLOAD } from '../helpers/snapshot-fixtures.ts';
import {
  METHODS,
  type Method,
  requestId,
  serializedError,
  snapshotSchema,
  watchId,
} from '../schemas/method-schemas.ts';

/**
 * The socket client checks the host's frames by hand (host-message.ts) instead of with the zod schemas
 * of test/schemas/method-schemas.ts. The two must agree: the same verdict on every value below,
 * valid or broken, and the same output (fields a plain object does not know dropped, a snapshot's kept, defaults filled in, an
 * unknown error code made BT_ERR_INTERNAL). The envelopes below are the schemas the client used before.
 */

const replyEnvelope = z.discriminatedUnion('ok', [
  z.object({ v: z.literal(PROTOCOL_VERSION), id: requestId.nullable(), ok: z.literal(true), result: z.unknown() }),
  z.object({ v: z.literal(PROTOCOL_VERSION), id: requestId.nullable(), ok: z.literal(false), error: serializedError }),
]);
const pushEnvelope = z.object({
  v: z.literal(PROTOCOL_VERSION),
  push: z.literal('snapshot'),
  watchId,
  snapshot: snapshotSchema,
});

const SNAPSHOT: OperationSnapshot = COMPLETED_UPLOAD;
const OLD_HOST_SNAPSHOT: Record<string, unknown> = { ...structuredClone(SNAPSHOT), extra: 'kept' };
delete OLD_HOST_SNAPSHOT.contentDigest;
delete OLD_HOST_SNAPSHOT.direction;
delete OLD_HOST_SNAPSHOT.resultPath;
const BROKEN_SNAPSHOT = { ...structuredClone(SNAPSHOT), progress: { ...SNAPSHOT.progress, status: 42 } };

const BIG = Number.MAX_SAFE_INTEGER;
const SNAPSHOT_CASES: unknown[] = [SNAPSHOT, OLD_HOST_SNAPSHOT, BROKEN_SNAPSHOT, null, [], 'x'];
const DONE_CASES: unknown[] = [{}, { extra: 1 }, null, [], 3, 'ok'];

/** Results per method: valid ones, ones with extra fields, broken ones. */
const RESULTS: { [M in Method]: unknown[] } = {
  hello: [
    { protocolVersion: 2, pid: 10, home: '/h' },
    { protocolVersion: 2, pid: 10, home: '/h', finalEndsWatch: true, newer: 'x' },
    { protocolVersion: 2, pid: 10, home: '/h', finalEndsWatch: 'yes' },
    { protocolVersion: 2, pid: 10, home: '/h', listForms: ['rows0', 'rows1'] },
    { protocolVersion: 2, pid: 10, home: '/h', listForms: ['rows1', 'rows2', 'rows9'] },
    { protocolVersion: 2, pid: 10, home: '/h', listForms: 'rows1' },
    { protocolVersion: 2, pid: 10, home: '/h', listForms: ['rows1', 2] },
    { protocolVersion: 2, pid: 10, home: '/h', startWatches: true, finalEndsWatch: true, listForms: ['rows1'] },
    { protocolVersion: 2, pid: 10, home: '/h', startWatches: false },
    { protocolVersion: 2, pid: 10, home: '/h', startWatches: 1 },
    { protocolVersion: 2.5, pid: 10, home: '/h' },
    { protocolVersion: 2, pid: BIG + 1, home: '/h' },
    { protocolVersion: 2, pid: 10 },
    [],
  ],
  start: SNAPSHOT_CASES,
  createSpool: [{ spoolId: 's', path: '/p' }, { spoolId: 's', path: '/p', x: 1 }, { spoolId: 1, path: '/p' }, {}],
  releaseSpool: DONE_CASES,
  list: [[SNAPSHOT, OLD_HOST_SNAPSHOT], [], [SNAPSHOT, BROKEN_SNAPSHOT], { operations: [] }, null],
  listPage: [
    { operations: [SNAPSHOT], next: null },
    { appId: SNAPSHOT.appId, rows: [toSnapshotRow(SNAPSHOT)], next: null },
    { appId: SNAPSHOT.appId, rows: [toSnapshotRow(SNAPSHOT)], operations: 'ignored', next: null },
    { appId: SNAPSHOT.appId, rows: [[1, 2]], next: null },
    { appId: SNAPSHOT.appId, rows: 'all', next: null },
    { appId: 3, rows: [], next: null },
    { rows: [toSnapshotRow(SNAPSHOT)], next: null },
    { appId: SNAPSHOT.appId, rows2: [toSnapshotRow(SNAPSHOT, COMPACT_ROW_FORM)], next: null },
    { appId: SNAPSHOT.appId, rows2: [toSnapshotRow(SNAPSHOT, COMPACT_ROW_FORM)], rows: 'ignored', next: null },
    { appId: SNAPSHOT.appId, rows2: [toSnapshotRow(SNAPSHOT)], next: null },
    { appId: SNAPSHOT.appId, rows2: [toSnapshotRow({ ...SNAPSHOT, response: null }, COMPACT_ROW_FORM)], next: null },
    { appId: SNAPSHOT.appId, rows2: [[1, 2]], next: null },
    { appId: SNAPSHOT.appId, rows2: 'all', next: null },
    { rows2: [toSnapshotRow(SNAPSHOT, COMPACT_ROW_FORM)], next: null },
    { operations: [SNAPSHOT], next: { seq: 3, guid: 'g-1' }, extra: true },
    { operations: [], next: { seq: -3, guid: 'g' } },
    { operations: [], next: { seq: 3, guid: '' } },
    { operations: [], next: { seq: 3, guid: 'g'.repeat(201) } },
    { operations: [], next: { seq: 3.5, guid: 'g' } },
    { operations: [], next: { seq: 3, guid: 'g', more: 1 } },
    { operations: [], next: { seq: 3 } },
    { operations: [], next: [] },
    { operations: [BROKEN_SNAPSHOT], next: null },
    { operations: 'all', next: null },
    { operations: [] },
    { next: null },
  ],
  get: SNAPSHOT_CASES,
  cancel: SNAPSHOT_CASES,
  update: SNAPSHOT_CASES,
  pause: SNAPSHOT_CASES,
  resume: SNAPSHOT_CASES,
  makeCurrent: SNAPSHOT_CASES,
  enableCompletionGroup: DONE_CASES,
  watch: [{ watchId: 1 }, { watchId: BIG, x: 1 }, { watchId: 0 }, { watchId: BIG + 1 }, { watchId: '1' }, {}],
  unwatch: DONE_CASES,
  status: [
    { pid: 1, uptimeMs: 2.5, home: '/h', protocolVersion: 2, appId: 'a', counts: { idle: 1 }, clients: 1 },
    { pid: 1, uptimeMs: 0, home: '/h', protocolVersion: 2, appId: 'a', counts: {}, clients: 0, x: 1 },
    { pid: 1, uptimeMs: 0, home: '/h', protocolVersion: 2, appId: 'a', counts: { idle: -1 }, clients: 0 },
    { pid: 1, uptimeMs: 0, home: '/h', protocolVersion: 2, appId: 'a', counts: [], clients: 0 },
    { pid: 1, uptimeMs: Number.NaN, home: '/h', protocolVersion: 2, appId: 'a', counts: {}, clients: 0 },
    { pid: 1, uptimeMs: 0, home: '/h', protocolVersion: 2, appId: 'a', counts: {}, clients: 0.5 },
    { pid: 1, uptimeMs: 0, home: '/h', protocolVersion: 2, appId: 'a', counts: {} },
  ],
  shutdown: DONE_CASES,
};

/** What the hand check gives: the value, or that it refused it with BT_ERR_IPC_PROTOCOL. */
function byHand(check: () => unknown): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: check() };
  } catch (error) {
    assert.ok(error instanceof TransferError, String(error));
    assert.equal(error.code, 'BT_ERR_IPC_PROTOCOL');
    return { ok: false };
  }
}

function assertSameVerdict(schema: z.ZodType, value: unknown, check: (value: unknown) => unknown): void {
  // The enumeration schemas check their snapshots by hand inside a transform, which throws its refusal.
  const expected = (() => {
    try {
      return schema.safeParse(structuredClone(value));
    } catch (error) {
      assert.ok(error instanceof TransferError && error.code === 'BT_ERR_IPC_PROTOCOL', String(error));
      return { success: false as const };
    }
  })();
  const actual = byHand(() => check(structuredClone(value)));
  assert.equal(actual.ok, expected.success, `verdict on ${JSON.stringify(value)}`);
  if (expected.success && actual.ok) assert.deepEqual(actual.value, expected.data);
}

describe('results: the hand check gives the schema’s verdict and output', () => {
  for (const method of Object.keys(METHODS) as Method[]) {
    it(method, () => {
      const cases = RESULTS[method];
      assert.ok(cases.length > 0);
      for (const value of cases) {
        assertSameVerdict(METHODS[method].result, value, (result) => parseResult(method, result));
      }
    });
  }
});

const FRAMES: unknown[] = [
  { v: PROTOCOL_VERSION, id: 1, ok: true, result: { any: 'thing' } },
  { v: PROTOCOL_VERSION, id: null, ok: true, result: null, extra: 1 },
  { v: PROTOCOL_VERSION, id: 0, ok: true, result: [1] },
  { v: PROTOCOL_VERSION, id: 3, ok: false, error: { code: 'BT_ERR_NOT_FOUND', message: 'no', x: 1 } },
  { v: PROTOCOL_VERSION, id: 3, ok: false, error: { code: 'BT_ERR_FROM_THE_FUTURE', message: 'new' } },
  { v: PROTOCOL_VERSION, id: 3, ok: false, error: { code: 'BT_ERR_HTTP_STATUS', message: 'm', httpStatus: 503 } },
  { v: PROTOCOL_VERSION, id: 3, ok: false, error: { code: 'BT_ERR_HTTP_STATUS', message: 'm', httpStatus: 5.5 } },
  { v: PROTOCOL_VERSION, id: 3, ok: false, error: { code: 7, message: 'm' } },
  { v: PROTOCOL_VERSION, id: 3, ok: false },
  { v: PROTOCOL_VERSION, id: -1, ok: true, result: 1 },
  { v: PROTOCOL_VERSION, id: 1.5, ok: true, result: 1 },
  { v: PROTOCOL_VERSION, id: '1', ok: true, result: 1 },
  { v: PROTOCOL_VERSION, ok: true, result: 1 },
  { v: PROTOCOL_VERSION, id: 1, ok: 'yes', result: 1 },
  { v: PROTOCOL_VERSION, id: 1 },
  { v: '2', id: 1, ok: true, result: 1 },
  { id: 1, ok: true, result: 1 },
  [1, 2],
  null,
  7,
];

const PUSHES: unknown[] = [
  { v: PROTOCOL_VERSION, push: 'snapshot', watchId: 1, snapshot: SNAPSHOT },
  { v: PROTOCOL_VERSION, push: 'snapshot', watchId: 2, snapshot: OLD_HOST_SNAPSHOT, extra: 1 },
  { v: PROTOCOL_VERSION, push: 'snapshot', watchId: 2, snapshot: BROKEN_SNAPSHOT },
  { v: PROTOCOL_VERSION, push: 'snapshot', watchId: 0, snapshot: SNAPSHOT },
  { v: PROTOCOL_VERSION, push: 'snapshot', watchId: '1', snapshot: SNAPSHOT },
  { v: PROTOCOL_VERSION, push: 'progress', watchId: 1, snapshot: SNAPSHOT },
  { v: PROTOCOL_VERSION, push: 'snapshot', watchId: 1 },
  { push: 'snapshot', watchId: 1, snapshot: SNAPSHOT },
];

describe('envelopes: the hand check gives the schemas’ verdict and output', () => {
  it('replies', () => {
    for (const frame of FRAMES) {
      assertSameVerdict(replyEnvelope, frame, (value) => {
        const message = parseHostMessage(JSON.stringify(value));
        assert.equal(message.kind, 'reply');
        return message.frame;
      });
    }
  });

  it('pushes', () => {
    for (const frame of PUSHES) {
      assertSameVerdict(pushEnvelope, frame, (value) => {
        const message = parseHostMessage(JSON.stringify(value));
        assert.equal(message.kind, 'push');
        return message.frame;
      });
    }
  });

  it('a frame of another protocol version says so, whatever else it holds', () => {
    assert.throws(() => parseHostMessage(JSON.stringify({ v: PROTOCOL_VERSION + 1, anything: true })), {
      code: 'BT_ERR_IPC_PROTOCOL',
      message: /speaks IPC protocol 3/,
    });
    assert.throws(() => parseHostMessage('{"v":'), { code: 'BT_ERR_IPC_PROTOCOL', message: /not valid JSON/ });
  });

  it('a broken frame or result names where it is broken', () => {
    assert.throws(() => parseHostMessage(JSON.stringify(PUSHES[2])), {
      code: 'BT_ERR_IPC_PROTOCOL',
      message: /the host sent a bad message: snapshot\.progress\.status: expected a BackgroundTransferStatus/,
    });
    assert.throws(() => parseResult('watch', { watchId: 0 }), {
      code: 'BT_ERR_IPC_PROTOCOL',
      message: /bad watch result from the host: result\.watchId: expected an integer ≥ 1/,
    });
  });
});
