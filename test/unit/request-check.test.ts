import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { TransferError } from '../../src/core/errors.ts';
import { PROTOCOL_VERSION, protocolError } from '../../src/ipc/frames.ts';
import { isMethod } from '../../src/ipc/method-names.ts';
import { type ParsedRequest, parseRequest } from '../../src/ipc/request-check.ts';
import { METHODS, requestId } from '../schemas/method-schemas.ts';

/**
 * The host checks every request by hand (request-check.ts, start-spec-check.ts) instead of with the zod
 * schemas of test/schemas/method-schemas.ts, so that it loads no zod. The two must agree: the same
 * verdict on every frame below, valid or broken (the same error code, the same reply id), and the same
 * params when valid (the start's defaults filled in, the fields a plain object does not know dropped).
 * `referenceParse` is the host's parser as it was with zod. Beside the hand-made frames, every valid one is broken
 * systematically: each field removed, set to values of every other type and to out-of-range ones, and
 * an unknown field added to each object.
 */

const requestEnvelope = z.strictObject({ v: z.number().int(), id: requestId, method: z.string(), params: z.unknown() });

function referenceParse(line: string): ParsedRequest {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { ok: false, id: null, error: protocolError('the frame is not valid JSON') };
  }
  const readableId = requestId.safeParse((raw as { id?: unknown } | null)?.id);
  const replyId = readableId.success ? readableId.data : null;
  const envelope = requestEnvelope.safeParse(raw);
  if (!envelope.success) return { ok: false, id: replyId, error: protocolError('bad request') };
  const { method, v } = envelope.data;
  if (v !== PROTOCOL_VERSION) return { ok: false, id: replyId, error: protocolError('version') };
  if (!isMethod(method)) return { ok: false, id: replyId, error: protocolError('unknown method') };
  const params = METHODS[method].params.safeParse(envelope.data.params);
  if (!params.success) {
    return { ok: false, id: replyId, error: new TransferError('BT_ERR_INVALID_ARGUMENT', 'bad params') };
  }
  return { ok: true, id: envelope.data.id, request: { method, params: params.data } as never };
}

const SPOOL_ID = '0123abcd-0123-4abc-8def-0123456789ab';
const DIGEST = `sha-256=:${'A'.repeat(43)}=:`;

const BASE_SPEC = {
  guid: 'g-1',
  appId: 'app',
  method: 'PUT',
  requestedUri: 'http://127.0.0.1:1/up',
  sourcePath: '/tmp/source.bin',
  headers: [['X-A', '1']],
  costPolicy: 0,
  priority: 1,
  group: null,
  transferGroup: null,
};

const FULL_EXTRAS = {
  body: { kind: 'file' },
  resumeProtocol: 'tus',
  ietfInteropVersion: 8,
  sendContentDigest: true,
  tusParallelUploads: 4,
  serverCredential: { userName: 'u', password: 'p' },
  proxyCredential: null,
  successNotification: { summary: 's', body: 'b' },
  failureNotification: null,
  notificationBatchId: 'batch',
  completionGroupId: null,
  isRandomAccessRequired: true,
  recoverableWebErrorStatuses: [404, 503],
  expectedContentDigest: DIGEST,
  proxyEnv: { HTTPS_PROXY: 'http://proxy:3128', no_proxy: 'localhost' },
};

/** The fields an old client leaves out get their defaults. */
const MINIMAL_EXTRAS = {
  body: {
    kind: 'multipart',
    subType: 'form-data',
    boundary: 'b0',
    parts: [
      { name: 'a', fileName: null, headers: [['X-P', 'v']], text: 'hello', file: null },
      {
        name: null,
        fileName: 'f.bin',
        headers: [],
        text: null,
        file: { path: '/tmp/f.bin', size: 10, mtimeMs: 1.5, ino: 99 },
      },
    ],
  },
  resumeProtocol: 'auto',
  serverCredential: null,
  proxyCredential: { userName: 'pu', password: 'pp' },
  successNotification: null,
  failureNotification: { summary: 'f', body: 'fb' },
  notificationBatchId: null,
  completionGroupId: 'cg',
  proxyEnv: null,
};

/** Valid params per method, each a starting point for the broken ones. */
const VALID: [string, unknown][] = [
  ['hello', { protocolVersion: PROTOCOL_VERSION, appId: 'app' }],
  ['start', { spec: BASE_SPEC }],
  ['start', { spec: { ...BASE_SPEC, extras: FULL_EXTRAS }, watchId: 3 }],
  ['start', { spec: { ...BASE_SPEC, sourcePath: null, group: 'g', extras: MINIMAL_EXTRAS } }],
  [
    'start',
    {
      spec: {
        ...BASE_SPEC,
        transferGroup: { name: 'tg', transferBehavior: 1 },
        extras: { ...MINIMAL_EXTRAS, body: { kind: 'stream', spoolId: SPOOL_ID } },
      },
    },
  ],
  [
    'start',
    {
      spec: {
        ...BASE_SPEC,
        method: 'GET',
        sourcePath: null,
        extras: { ...FULL_EXTRAS, body: { kind: 'none' }, expectedContentDigest: null },
        download: { resultPath: '/tmp/result.bin' },
      },
    },
  ],
  ['createSpool', {}],
  ['releaseSpool', { spoolId: SPOOL_ID }],
  ['list', { filter: { kind: 'all' } }],
  ['list', { filter: { kind: 'group', group: 'g' }, direction: 'upload' }],
  ['list', { filter: { kind: 'transferGroup', name: 'tg' }, direction: 'download' }],
  ['listPage', { filter: { kind: 'ungrouped' }, after: null, limit: 250 }],
  [
    'listPage',
    { filter: { kind: 'all' }, after: { seq: 7, guid: 'g-7' }, limit: 1, direction: 'upload', form: 'rows2' },
  ],
  ['listPage', { filter: { kind: 'all' }, after: null, limit: 2000, form: 'rows1' }],
  ['get', { guid: 'g-1' }],
  ['cancel', { guid: 'g-1' }],
  ['pause', { guid: 'g-1' }],
  ['resume', { guid: 'g-1' }],
  ['makeCurrent', { guid: 'g-1' }],
  ['update', { guid: 'g-1', change: {} }],
  [
    'update',
    {
      guid: 'g-1',
      change: {
        costPolicy: 2,
        priority: 2,
        setHeader: ['X-B', '2'],
        removeHeader: 'X-A',
        requestedUri: 'http://127.0.0.1:1/new',
        recoverableWebErrorStatuses: [0, 1000],
      },
    },
  ],
  ['enableCompletionGroup', { group: { id: 'cg', task: { command: '/bin/true', args: ['a', 'b'], cwd: null } } }],
  ['enableCompletionGroup', { group: { id: 'cg', task: { command: 'x', args: [], cwd: '/tmp' } } }],
  ['watch', { guid: 'g-1', watchId: 1 }],
  ['unwatch', { watchId: Number.MAX_SAFE_INTEGER }],
  ['status', {}],
  ['shutdown', {}],
];

/** What a broken field is set to: every other JSON type, empty and overlong strings, numbers out of range. */
const REPLACEMENTS: unknown[] = [
  null,
  true,
  'x',
  '',
  'x'.repeat(201),
  'x'.repeat(1025),
  'x'.repeat(4097),
  'x'.repeat(64 * 1024 + 1),
  0,
  -1,
  1.5,
  17,
  1001,
  2001,
  2 ** 53,
  [],
  ['x'],
  ['x', 'y', 'z'],
  [1, 2],
  {},
  { kind: 'file' },
];

/** Every broken variant of `value`: one change at one place. */
function* broken(value: unknown): Generator<unknown> {
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      for (const variant of brokenAt(value[index])) yield value.map((item, at) => (at === index ? variant : item));
    }
    yield [...value, value[0] ?? 'x'];
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const object = value as Record<string, unknown>;
  yield { ...object, unknownField: 1 };
  yield { ...object, session: { protocol: 'tus', uploadUrl: 'http://x' } };
  for (const key of Object.keys(object)) {
    const { [key]: _removed, ...without } = object;
    yield without;
    for (const variant of brokenAt(object[key])) yield { ...object, [key]: variant };
  }
}

function* brokenAt(value: unknown): Generator<unknown> {
  for (const replacement of REPLACEMENTS) yield replacement;
  yield* broken(value);
}

function frame(method: string, params: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ v: PROTOCOL_VERSION, id: 5, method, params, ...extra });
}

function assertSameVerdict(line: string): 'accepted' | 'refused' {
  const reference = referenceParse(line);
  const hand = parseRequest(line);
  assert.equal(hand.ok, reference.ok, `verdict for ${line.slice(0, 300)}`);
  if (hand.ok && reference.ok) {
    assert.deepStrictEqual(hand.request, reference.request, `params for ${line.slice(0, 300)}`);
    assert.equal(hand.id, reference.id);
    return 'accepted';
  }
  if (!hand.ok && !reference.ok) {
    assert.equal(hand.error.code, reference.error.code, `error code for ${line.slice(0, 300)}`);
    assert.equal(hand.id, reference.id, `reply id for ${line.slice(0, 300)}`);
  }
  return 'refused';
}

describe('the host checks requests by hand with the verdicts of the zod schemas', () => {
  it('accepts every valid request with the same params, defaults filled in', () => {
    for (const [method, params] of VALID) assert.equal(assertSameVerdict(frame(method, params)), 'accepted', method);
    const start = parseRequest(frame('start', { spec: { ...BASE_SPEC, extras: MINIMAL_EXTRAS } }));
    assert.ok(start.ok && start.request.method === 'start');
    assert.deepEqual(
      {
        ietfInteropVersion: start.request.params.spec.extras?.ietfInteropVersion,
        tusParallelUploads: start.request.params.spec.extras?.tusParallelUploads,
        recoverableWebErrorStatuses: start.request.params.spec.extras?.recoverableWebErrorStatuses,
      },
      { ietfInteropVersion: 6, tusParallelUploads: 1, recoverableWebErrorStatuses: [] },
    );
  });

  it('agrees on every systematically broken variant of them', () => {
    let accepted = 0;
    let refused = 0;
    for (const [method, params] of VALID) {
      for (const variant of broken(params)) {
        if (assertSameVerdict(frame(method, variant)) === 'accepted') accepted++;
        else refused++;
      }
    }
    // Both kinds occur: optional and nullable fields accept some replacements, the rest is refused.
    assert.ok(refused > 2000, `refused ${refused}`);
    assert.ok(accepted > 100, `accepted ${accepted}`);
  });

  it('agrees on broken envelopes and on what JSON.stringify cannot write', () => {
    const lines = [
      'not json',
      'null',
      '[]',
      '7',
      JSON.stringify({ v: PROTOCOL_VERSION, id: 1, method: 'status' }),
      JSON.stringify({ v: PROTOCOL_VERSION, id: -1, method: 'status', params: {} }),
      JSON.stringify({ v: PROTOCOL_VERSION, id: 1.5, method: 'status', params: {} }),
      JSON.stringify({ v: PROTOCOL_VERSION, id: null, method: 'status', params: {} }),
      JSON.stringify({ v: PROTOCOL_VERSION, id: 2 ** 53, method: 'status', params: {} }),
      JSON.stringify({ v: '2', id: 1, method: 'status', params: {} }),
      JSON.stringify({ v: PROTOCOL_VERSION + 1, id: 1, method: 'status', params: {} }),
      JSON.stringify({ v: 1.5, id: 1, method: 'status', params: {} }),
      JSON.stringify({ v: PROTOCOL_VERSION, id: 1, method: 3, params: {} }),
      JSON.stringify({ v: PROTOCOL_VERSION, id: 1, method: 'nope', params: {} }),
      JSON.stringify({ v: PROTOCOL_VERSION, id: 1, method: 'toString', params: {} }),
      JSON.stringify({ v: PROTOCOL_VERSION, id: 1, method: '__proto__', params: {} }),
      frame('status', {}, { extra: true }),
      frame('status', null),
      frame('status', []),
      `{"v":${PROTOCOL_VERSION},"id":1,"method":"status","params":{},"__proto__":{}}`,
      `{"v":${PROTOCOL_VERSION},"id":1,"method":"status","params":{"__proto__":{}}}`,
      `{"v":${PROTOCOL_VERSION},"id":1e999,"method":"status","params":{}}`,
      `{"v":1e999,"id":1,"method":"status","params":{}}`,
      frame('unwatch', { watchId: 0 }),
      frame('listPage', { filter: { kind: 'all' }, after: { seq: 12345, guid: 'g' }, limit: 1 }).replace(
        '12345',
        '1e999',
      ),
      frame('listPage', { filter: { kind: 'all' }, after: { seq: -1, guid: 'g' }, limit: 1 }),
      frame('listPage', { filter: { kind: 'nope' }, after: null, limit: 1 }),
      frame('listPage', { filter: { kind: 'toString' }, after: null, limit: 1 }),
    ];
    const extras = (overrides: Record<string, unknown>) =>
      frame('start', { spec: { ...BASE_SPEC, extras: { ...FULL_EXTRAS, ...overrides } } });
    lines.push(
      extras({ expectedContentDigest: 'sha-256=:short:' }),
      extras({ expectedContentDigest: `sha-512=:${'A'.repeat(86)}==:` }),
      extras({ body: { kind: 'stream', spoolId: 'not-an-id' } }),
      extras({ body: { kind: 'stream', spoolPath: '/etc/passwd' } }),
      extras({ body: { kind: 'stream', spoolId: SPOOL_ID, spoolPath: '/etc/passwd' } }),
      extras({ serverCredential: { userName: 'u', password: 'p', realm: 'dropped' } }),
      extras({ successNotification: { summary: 's', body: 'b', icon: 'dropped' } }),
      extras({ proxyEnv: { A: 'a', B: 1 } }),
      extras({ proxyEnv: {} }),
      extras({ tusParallelUploads: 0 }),
      extras({ tusParallelUploads: 16 }),
      extras({ ietfInteropVersion: 7 }),
      extras({ recoverableWebErrorStatuses: new Array(64).fill(1) }),
      extras({ recoverableWebErrorStatuses: new Array(65).fill(1) }),
      extras({ contentDigest: 'sha-256=:x:' }),
      extras({ probedPlain: true }),
      frame('start', { spec: { ...BASE_SPEC, headers: new Array(1000).fill(['a', 'b']) } }),
      frame('start', { spec: { ...BASE_SPEC, headers: new Array(1001).fill(['a', 'b']) } }),
      frame('start', { spec: { ...BASE_SPEC, guid: 'x'.repeat(200) } }),
      frame('start', { spec: { ...BASE_SPEC, offset: 10 } }),
      frame('start', { spec: { ...BASE_SPEC, download: { resultPath: '/r', partialPath: '/p' } } }),
      frame('enableCompletionGroup', {
        group: { id: 'g', task: { command: 'x', args: new Array(1001).fill('a'), cwd: null } },
      }),
      frame('enableCompletionGroup', { group: { id: 'g', task: { command: 'x', args: [], cwd: 'x'.repeat(4097) } } }),
      // A proxy variable named __proto__ is dropped by both, never made the object's prototype.
      JSON.stringify(JSON.parse(extras({ proxyEnv: { A: 'a' } }))).replace('{"A":"a"}', '{"A":"a","__proto__":"x"}'),
      JSON.stringify(JSON.parse(extras({ proxyEnv: { A: 'a' } }))).replace('{"A":"a"}', '{"__proto__":{"B":"b"}}'),
      extras({}).replace('"resumeProtocol"', '"__proto__":{},"resumeProtocol"'),
      frame('start', { spec: BASE_SPEC }).replace('"guid"', '"__proto__":{"x":1},"guid"'),
      frame('start', { spec: { ...BASE_SPEC, extras: FULL_EXTRAS } }).replace('"mtimeMs"', '"mtimeMs"'),
      frame('start', { spec: { ...BASE_SPEC, extras: MINIMAL_EXTRAS } }).replace('"size":10', '"size":1e999'),
    );
    for (const line of lines) assertSameVerdict(line);
  });

  it('words a refusal so that a client author can act on it', () => {
    const spooled = parseRequest(
      frame('start', {
        spec: { ...BASE_SPEC, extras: { ...FULL_EXTRAS, body: { kind: 'stream', spoolPath: '/etc/passwd' } } },
      }),
    );
    assert.ok(!spooled.ok);
    assert.equal(spooled.error.code, 'BT_ERR_INVALID_ARGUMENT');
    assert.match(
      spooled.error.message,
      /^bad params for start: .*a stream body may not carry spoolPath: a client sends only what an app asks for/,
    );
    const offset = parseRequest(frame('start', { spec: { ...BASE_SPEC, offset: 10 } }));
    assert.ok(!offset.ok);
    assert.match(offset.error.message, /spec may not carry offset/);
    const guid = parseRequest(frame('get', { guid: '' }));
    assert.ok(!guid.ok);
    assert.equal(guid.error.message, 'bad params for get: params.guid: expected a string of 1 to 200 characters');
    const envelope = parseRequest(JSON.stringify({ v: PROTOCOL_VERSION, id: 4, method: 'get', params: {}, x: 1 }));
    assert.ok(!envelope.ok);
    assert.deepEqual(
      [envelope.id, envelope.error.code, envelope.error.message],
      [4, 'BT_ERR_IPC_PROTOCOL', 'bad request: frame: unknown field x'],
    );
    // A flood of unknown fields is named within bounds: the message goes into the host's log.
    const flood = Object.fromEntries(Array.from({ length: 500 }, (_, index) => [`${'k'.repeat(200)}${index}`, 1]));
    const flooded = parseRequest(frame('status', flood));
    assert.ok(!flooded.ok);
    assert.ok(flooded.error.message.length < 1200, `${flooded.error.message.length} characters`);
    assert.match(flooded.error.message, /and 490 more$/);
  });
});
