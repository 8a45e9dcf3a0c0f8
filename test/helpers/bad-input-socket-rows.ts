import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { DEFAULT_REQUEST_EXTRAS } from '../../src/core/default-extras.ts';
import { hostSocketPath, PROTOCOL_VERSION } from '../../src/ipc/protocol.ts';
import type { AreaContext, AreaRow } from './bad-input-area.ts';
import { type Outcome, SENTINEL_APP } from './bad-input-harness.ts';
import { type RawReply, rawSession, request } from './raw-socket.ts';

/**
 * Socket rows of test/integration/bad-input.test.ts: raw NDJSON frames on the area's running host, as a
 * broken or forged client sends them. Each expects a coded error reply; the harness then checks that the
 * same host still serves and the sentinels (another app's uploads) are intact.
 */

const APP = 'raw-client';
const hello = (appId = APP): string => request(1, 'hello', { protocolVersion: PROTOCOL_VERSION, appId });
const MAX_FRAME_BYTES = 1024 * 1024;

/** A start spec an app could send; `extra` adds or replaces fields. */
function spec(ctx: AreaContext, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    guid: randomUUID(),
    appId: APP,
    method: 'PUT',
    requestedUri: `${ctx.url}/raw`,
    sourcePath: ctx.file,
    headers: [],
    costPolicy: 0,
    priority: 0,
    group: null,
    transferGroup: null,
    ...extra,
  };
}

/** The reply to the frame with id 2 (after hello), or to the first frame when `withHello` is false. */
async function replyTo(ctx: AreaContext, lines: string[], withHello = true): Promise<Outcome> {
  const session = await rawSession(hostSocketPath(ctx.home), withHello ? [hello(), ...lines] : lines);
  const reply: RawReply | undefined = withHello ? session.replies.find((r) => r.id !== 1) : session.replies[0];
  if (reply === undefined) return { code: 'no reply', message: `closed: ${session.closed}` };
  return reply.ok ? {} : { code: reply.error?.code, message: reply.error?.message };
}

function callRow(
  name: string,
  method: string,
  params: (ctx: AreaContext) => unknown,
  code: string,
  message?: RegExp,
): AreaRow {
  return {
    name: `socket: ${name}`,
    act: (ctx) => replyTo(ctx, [request(2, method, params(ctx))]),
    expect: { code, ...(message ? { message } : {}) },
  };
}
function serveRow(name: string, method: string, params: (ctx: AreaContext) => unknown): AreaRow {
  return {
    name: `socket: ${name}`,
    act: (ctx) => replyTo(ctx, [request(2, method, params(ctx))]),
    expect: { serves: true },
  };
}
function startRow(
  name: string,
  extra: (ctx: AreaContext) => Record<string, unknown>,
  code: string,
  message?: RegExp,
): AreaRow {
  return callRow(`start with ${name}`, 'start', (ctx) => ({ spec: spec(ctx, extra(ctx)) }), code, message);
}
function rawRow(name: string, lines: (ctx: AreaContext) => string[], code: string, withHello = true): AreaRow {
  return { name: `socket: ${name}`, act: (ctx) => replyTo(ctx, lines(ctx), withHello), expect: { code } };
}

export const SOCKET_ROWS: AreaRow[] = [
  rawRow('garbage before hello', () => ['not json at all'], 'BT_ERR_IPC_PROTOCOL', false),
  rawRow('a call before hello', () => [request(5, 'list', { filter: { kind: 'all' } })], 'BT_ERR_IPC_PROTOCOL', false),
  rawRow(
    'hello with protocolVersion 99',
    () => [request(1, 'hello', { protocolVersion: 99, appId: APP })],
    'BT_ERR_IPC_PROTOCOL',
    false,
  ),
  rawRow(
    'hello with an empty appId',
    () => [request(1, 'hello', { protocolVersion: PROTOCOL_VERSION, appId: '' })],
    'BT_ERR_INVALID_ARGUMENT',
    false,
  ),
  rawRow('a frame over the frame limit', () => ['x'.repeat(MAX_FRAME_BYTES + 1024)], 'BT_ERR_IPC_PROTOCOL'),
  rawRow('garbage after hello', () => [`{"v":${PROTOCOL_VERSION},"id":2,`], 'BT_ERR_IPC_PROTOCOL'),
  rawRow(
    'a frame of the next protocol version',
    () => [JSON.stringify({ v: PROTOCOL_VERSION + 1, id: 2, method: 'status', params: {} })],
    'BT_ERR_IPC_PROTOCOL',
  ),
  rawRow('a JSON array frame', () => ['[1,2,3]'], 'BT_ERR_IPC_PROTOCOL'),
  callRow('an unknown method', 'explode', () => ({}), 'BT_ERR_IPC_PROTOCOL'),
  callRow('a prototype-named method', '__proto__', () => ({}), 'BT_ERR_IPC_PROTOCOL'),
  callRow(
    'a second hello',
    'hello',
    () => ({ protocolVersion: PROTOCOL_VERSION, appId: SENTINEL_APP }),
    'BT_ERR_IPC_PROTOCOL',
  ),
  callRow('get with a numeric guid', 'get', () => ({ guid: 42 }), 'BT_ERR_INVALID_ARGUMENT'),
  callRow('list with an unknown filter', 'list', () => ({ filter: { kind: 'everything' } }), 'BT_ERR_INVALID_ARGUMENT'),
  callRow('list with params null', 'list', () => null, 'BT_ERR_INVALID_ARGUMENT'),
  callRow('get of a path-like guid', 'get', () => ({ guid: '../../bgtransfer.db' }), 'BT_ERR_NOT_FOUND'),
  callRow("cancel of another app's guid", 'cancel', (ctx) => ({ guid: sentinelGuid(ctx) }), 'BT_ERR_NOT_FOUND'),
  callRow("pause of another app's guid", 'pause', (ctx) => ({ guid: sentinelGuid(ctx) }), 'BT_ERR_NOT_FOUND'),
  // Releasing is idempotent (a client retries it): an unknown or path-like spool is a no-op that removes nothing.
  serveRow('releaseSpool of a spool the app does not own', 'releaseSpool', () => ({ spoolId: randomUUID() })),
  serveRow('releaseSpool of a path-like spoolId', 'releaseSpool', () => ({ spoolId: '../bgtransfer.db' })),
  {
    name: 'socket: update of its own paused upload with a CR LF header',
    act: async (ctx) => {
      const own = spec(ctx);
      const lines = [
        request(2, 'start', { spec: own }),
        request(3, 'pause', { guid: own.guid }),
        request(4, 'update', { guid: own.guid, change: { setHeader: ['X-A', 'a\r\nX-B: b'] } }),
        request(5, 'cancel', { guid: own.guid }),
      ];
      const session = await rawSession(hostSocketPath(ctx.home), [hello(), ...lines]);
      const reply = session.replies.find((r) => r.id === 4);
      if (reply === undefined) return { code: 'no reply', message: JSON.stringify(session.replies) };
      return reply.ok ? {} : { code: reply.error?.code, message: reply.error?.message };
    },
    expect: { code: 'BT_ERR_INVALID_HEADER' },
  },
  callRow('watch with watchId 0', 'watch', () => ({ guid: randomUUID(), watchId: 0 }), 'BT_ERR_INVALID_ARGUMENT'),
  callRow(
    'enableCompletionGroup with an empty command',
    'enableCompletionGroup',
    () => ({
      group: { id: randomUUID(), task: { command: '', args: [], cwd: null } },
    }),
    'BT_ERR_INVALID_ARGUMENT',
  ),
  startRow(
    'an engine-owned session',
    () => ({ session: { url: 'http://127.0.0.1/x' } }),
    'BT_ERR_INVALID_ARGUMENT',
    /session/,
  ),
  startRow('an engine-owned probedPlain', () => ({ probedPlain: true }), 'BT_ERR_INVALID_ARGUMENT', /probedPlain/),
  startRow(
    'an engine-owned spoolPath',
    (ctx) => ({ spoolPath: join(ctx.home, 'bgtransfer.db') }),
    'BT_ERR_INVALID_ARGUMENT',
    /spoolPath/,
  ),
  startRow('an engine-owned ackOffset', () => ({ ackOffset: 1 << 20 }), 'BT_ERR_INVALID_ARGUMENT', /ackOffset/),
  startRow("another app's appId", () => ({ appId: SENTINEL_APP }), 'BT_ERR_INVALID_ARGUMENT'),
  startRow("another app's guid", (ctx) => ({ guid: sentinelGuid(ctx) }), 'BT_ERR_INVALID_ARGUMENT'),
  startRow('a path-like guid', () => ({ guid: '../../../tmp/x' }), 'BT_ERR_INVALID_ARGUMENT'),
  startRow(
    '1001 headers',
    () => ({ headers: Array.from({ length: 1001 }, (_, i) => [`X-${i}`, 'v']) }),
    'BT_ERR_INVALID_ARGUMENT',
  ),
  startRow('a header value with CR LF', () => ({ headers: [['X-A', 'a\r\nX-B: b']] }), 'BT_ERR_INVALID_HEADER'),
  startRow('a header name with NUL', () => ({ headers: [['X\0A', 'v']] }), 'BT_ERR_INVALID_HEADER'),
  startRow('method "GET / HTTP/1.1"', () => ({ method: 'GET / HTTP/1.1' }), 'BT_ERR_INVALID_METHOD'),
  startRow('a file: requestedUri', (ctx) => ({ requestedUri: `file://${ctx.file}` }), 'BT_ERR_UNSUPPORTED_SCHEME'),
  startRow('a relative requestedUri', () => ({ requestedUri: '/x' }), 'BT_ERR_INVALID_URI'),
  startRow('costPolicy "7"', () => ({ costPolicy: '7' }), 'BT_ERR_INVALID_ARGUMENT'),
  startRow('priority 9', () => ({ priority: 9 }), 'BT_ERR_INVALID_ARGUMENT'),
  startRow('a directory as sourcePath', (ctx) => ({ sourcePath: ctx.scratch }), 'BT_ERR_NOT_A_FILE'),
  startRow('a relative sourcePath', () => ({ sourcePath: 'bgtransfer.db' }), 'BT_ERR_INVALID_ARGUMENT'),
  startRow(
    'a stream body with a spoolId the app does not own',
    () => ({
      sourcePath: null,
      extras: { ...DEFAULT_REQUEST_EXTRAS, body: { kind: 'stream', spoolId: randomUUID() } },
    }),
    'BT_ERR_NOT_FOUND',
  ),
];

/** The first sentinel's guid, set by the test before the socket rows run. */
let sentinel = '';
export function setSentinelGuid(guid: string): void {
  sentinel = guid;
}
function sentinelGuid(_ctx: AreaContext): string {
  return sentinel;
}
