import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BackgroundTransferBehavior } from '../../src/core/enums.ts';
import { TransferError } from '../../src/core/errors.ts';
import { JsonText } from '../../src/core/json-text.ts';
import type { OperationSnapshot } from '../../src/core/snapshot.ts';
import { toSnapshotRow } from '../../src/core/snapshot-row.ts';
import { encodeFrame, PROTOCOL_VERSION, parseHostMessage, parseResult } from '../../src/ipc/protocol.ts';
import { ShapeCheckError } from '../../src/ipc/shape-check.ts';
import { checkSnapshot } from '../../src/ipc/snapshot-check.ts';
import { COMPLETED_UPLOAD } from '../helpers/snapshot-fixtures.ts';
import { snapshotSchema } from '../schemas/method-schemas.ts';

/**
 * The client checks enumeration replies by hand (snapshot-check.ts) instead of with snapshotSchema. The
 * two must agree: the same verdict on every snapshot below, valid or broken, and the same output (the
 * defaults of an older host's snapshot, an unknown error code, a newer host's extra fields).
 */

const UPLOAD: OperationSnapshot = COMPLETED_UPLOAD;

const DOWNLOAD: OperationSnapshot = {
  ...UPLOAD,
  guid: 'g-2',
  method: 'GET',
  sourcePath: null,
  group: 'legacy',
  transferGroup: { name: 'tg', transferBehavior: BackgroundTransferBehavior.serialized },
  response: { ...UPLOAD.response!, bodyTruncated: true },
  error: { code: 'BT_ERR_HTTP_STATUS', message: 'the server answered 503', httpStatus: 503 },
  direction: 'download',
  resultPath: '/data/out.bin',
  isRandomAccessRequired: true,
  recoverableWebErrorStatuses: [401],
  expectedContentDigest: null,
};

type Json = Record<string, unknown>;
const clone = (value: OperationSnapshot): Json => structuredClone(value) as unknown as Json;

function withField(base: OperationSnapshot, path: string, value: unknown): Json {
  const copy = clone(base);
  const keys = path.split('.');
  let target: Json = copy;
  for (const key of keys.slice(0, -1)) target = target[key] as Json;
  const last = keys.at(-1)!;
  if (value === undefined) delete target[last];
  else target[last] = value;
  return copy;
}

const VALID: Array<[string, unknown]> = [
  ['an upload', clone(UPLOAD)],
  ['a download with every field', clone(DOWNLOAD)],
  // A host that predates digests and downloads sends none of these: the defaults fill them in.
  [
    'an older host without contentDigest, direction, resultPath',
    (() => {
      const old = clone(UPLOAD);
      delete old.contentDigest;
      delete old.direction;
      delete old.resultPath;
      return old;
    })(),
  ],
  ['a newer host with fields this version does not know', { ...clone(UPLOAD), shinyNewField: { a: 1 } }],
  ['a newer progress field', withField(UPLOAD, 'progress.bytesPerSecond', 5)],
  [
    'an error code this version does not know',
    withField(DOWNLOAD, 'error', { code: 'BT_ERR_FROM_THE_FUTURE', message: 'm' }),
  ],
  [
    'an error with a field the schema drops',
    withField(DOWNLOAD, 'error', { code: 'BT_ERR_HTTP_STATUS', message: 'm', extra: 1 }),
  ],
  ['no response yet', withField(UPLOAD, 'response', null)],
];

const BROKEN: Array<[string, unknown]> = [
  ['null', null],
  ['an array', [clone(UPLOAD)]],
  ['a string guid missing', withField(UPLOAD, 'guid', undefined)],
  ['a numeric guid', withField(UPLOAD, 'guid', 7)],
  ['appId null', withField(UPLOAD, 'appId', null)],
  ['sourcePath a number', withField(UPLOAD, 'sourcePath', 3)],
  ['group missing', withField(UPLOAD, 'group', undefined)],
  ['a transfer group of an unknown behavior', withField(DOWNLOAD, 'transferGroup.transferBehavior', 9)],
  ['a transfer group without a name', withField(DOWNLOAD, 'transferGroup.name', undefined)],
  ['an unknown cost policy', withField(UPLOAD, 'costPolicy', 77)],
  ['a priority as text', withField(UPLOAD, 'priority', '0')],
  ['progress missing', withField(UPLOAD, 'progress', undefined)],
  ['an unknown status', withField(UPLOAD, 'progress.status', 42)],
  ['negative bytes sent', withField(UPLOAD, 'progress.bytesSent', -1)],
  ['fractional bytes received', withField(UPLOAD, 'progress.bytesReceived', 1.5)],
  ['hasRestarted as 0', withField(UPLOAD, 'progress.hasRestarted', 0)],
  ['responseVersion negative', withField(UPLOAD, 'responseVersion', -2)],
  ['a fractional status code', withField(UPLOAD, 'response.statusCode', 200.5)],
  ['headers not an array', withField(UPLOAD, 'response.headers', { a: 'b' })],
  ['a header triple', withField(UPLOAD, 'response.headers', [['a', 'b', 'c']])],
  ['a header value number', withField(UPLOAD, 'response.headers', [['a', 1]])],
  ['bodyTruncated as text', withField(DOWNLOAD, 'response.bodyTruncated', 'yes')],
  ['an error without a message', withField(DOWNLOAD, 'error.message', undefined)],
  ['an error code number', withField(DOWNLOAD, 'error.code', 5)],
  ['createdAtMs as text', withField(UPLOAD, 'createdAtMs', '2026')],
  ['contentDigest a number', withField(UPLOAD, 'contentDigest', 1)],
  ['direction sideways', withField(UPLOAD, 'direction', 'sideways')],
  ['resultPath false', withField(UPLOAD, 'resultPath', false)],
  ['isRandomAccessRequired 1', withField(DOWNLOAD, 'isRandomAccessRequired', 1)],
  ['recoverable statuses with text', withField(DOWNLOAD, 'recoverableWebErrorStatuses', ['401'])],
  ['expectedContentDigest a number', withField(DOWNLOAD, 'expectedContentDigest', 5)],
];

describe('the hand-written snapshot check agrees with snapshotSchema', () => {
  for (const [name, value] of VALID) {
    it(`accepts ${name}, with the schema's output`, () => {
      const expected = snapshotSchema.parse(structuredClone(value));
      assert.deepEqual(checkSnapshot(structuredClone(value), 'operations[0]'), expected);
    });
  }
  for (const [name, value] of BROKEN) {
    it(`refuses ${name}, as the schema does`, () => {
      assert.equal(snapshotSchema.safeParse(structuredClone(value)).success, false, 'the schema refuses it');
      assert.throws(() => checkSnapshot(structuredClone(value), 'operations[0]'), ShapeCheckError);
    });
  }
});

describe('enumeration replies on the client', () => {
  it('a listPage reply with one broken snapshot is BT_ERR_IPC_PROTOCOL naming where', () => {
    const operations = [clone(UPLOAD), withField(UPLOAD, 'progress.status', 42)];
    assert.throws(
      () => parseResult('listPage', { operations, next: null }),
      (error: unknown) => {
        assert.ok(error instanceof TransferError);
        assert.equal(error.code, 'BT_ERR_IPC_PROTOCOL');
        assert.match(error.message, /bad listPage result from the host/);
        assert.match(error.message, /operations\[1\]\.progress\.status: expected a BackgroundTransferStatus/);
        return true;
      },
    );
    assert.throws(() => parseResult('list', { operations }), { code: 'BT_ERR_IPC_PROTOCOL' });
    assert.throws(() => parseResult('listPage', { operations: 'all of them', next: null }), {
      code: 'BT_ERR_IPC_PROTOCOL',
      message: /operations: expected an array/,
    });
  });

  it('a listPage reply as rows is the same snapshots, with the page app id; a broken row is named', () => {
    const rows = [UPLOAD, DOWNLOAD].map((snapshot) => toSnapshotRow({ ...snapshot, appId: 'page-app' }));
    const parsed = parseResult('listPage', { appId: 'page-app', rows: structuredClone(rows), next: null });
    assert.deepEqual(parsed.operations, [
      { ...UPLOAD, appId: 'page-app' },
      { ...DOWNLOAD, appId: 'page-app' },
    ]);
    const brokenStatus = structuredClone(rows);
    (brokenStatus[1] as unknown[])[12] = 42;
    assert.throws(() => parseResult('listPage', { appId: 'page-app', rows: brokenStatus, next: null }), {
      code: 'BT_ERR_IPC_PROTOCOL',
      message: /bad listPage result from the host: rows\[1\]\.progress\.status: expected a BackgroundTransferStatus/,
    });
    for (const row of [rows[0]?.slice(0, 21), 'g-1', null, { guid: 'g-1' }]) {
      assert.throws(() => parseResult('listPage', { appId: 'page-app', rows: [rows[0], row], next: null }), {
        code: 'BT_ERR_IPC_PROTOCOL',
        message: /rows\[1\]: expected a snapshot row/,
      });
    }
    const badGroup = structuredClone(rows);
    (badGroup[0] as unknown[])[5] = ['tg'];
    assert.throws(() => parseResult('listPage', { appId: 'page-app', rows: badGroup, next: null }), {
      message: /rows\[0\]\.transferGroup: expected an object/,
    });
  });

  it('a reply whose result is JSON text is the frame JSON.stringify writes of the parsed value', () => {
    const result = { operations: [UPLOAD, DOWNLOAD], next: { seq: 4, guid: 'g-2' } };
    const asText = encodeFrame({ v: PROTOCOL_VERSION, id: 12, ok: true, result: new JsonText(JSON.stringify(result)) });
    assert.equal(asText, encodeFrame({ v: PROTOCOL_VERSION, id: 12, ok: true, result }));
    const message = parseHostMessage(asText.trimEnd());
    assert.equal(message.kind, 'reply');
    assert.deepEqual(
      parseResult('listPage', message.kind === 'reply' && message.frame.ok ? message.frame.result : null),
      result,
    );
  });
});
