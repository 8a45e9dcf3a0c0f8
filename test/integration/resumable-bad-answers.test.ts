import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Dispatcher } from 'undici';
import { BackgroundTransferStatus as S } from '../../src/core/enums.ts';
import type { ErrorCode } from '../../src/core/errors.ts';
import { DEFAULT_REQUEST_EXTRAS } from '../../src/core/operation-extras.ts';
import { createDispatcher } from '../../src/net/dispatcher.ts';
import type { ResumableUploadInput } from '../../src/protocols/http/resumable-types.ts';
import { terminateIetf, uploadIetf } from '../../src/protocols/ietf/ietf-upload.ts';
import { terminateTus } from '../../src/protocols/tus/tus-control.ts';
import { uploadTus } from '../../src/protocols/tus/tus-upload.ts';
import { startEngine } from '../helpers/engine-harness.ts';
import { headerOf, ietfAttempt, rejection } from '../helpers/ietf-input.ts';
import { startIetfServer } from '../helpers/ietf-server.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { type RouteReply, startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

/**
 * Bad answers from resumable-upload servers, one row each, for tus and the IETF draft: each gets a
 * coded error, sends no body on a bad offset, and keeps the session (no BT_ERR_RESUME_LOST restart).
 */

const SIZE = 200_000;
let dir: TempDir;
let file: RandomFile;
let dispatcher: Dispatcher;
let server: UploadServer;
let elsewhere: UploadServer;

before(async () => {
  dir = await makeTempDir('bad-answers-test-');
  file = await writeRandomFile(dir.path, 'body.bin', SIZE);
  dispatcher = createDispatcher({ connectTimeoutMs: 5_000, extraCaCertificates: [] });
  server = await startUploadServer();
  elsewhere = await startUploadServer();
});

after(async () => {
  await Promise.all([server.close(), elsewhere.close()]);
  await dispatcher.close();
  await dir.cleanup();
});

type Protocol = 'tus' | 'ietf';

/** One attempt of `protocol` resuming `uploadUrl`, with the app's Authorization and Cookie. */
function resume(protocol: Protocol, uploadUrl: string, overrides: Partial<ResumableUploadInput> = {}) {
  const { input, events } = ietfAttempt(`${server.url}/files`, file, dir.path, dispatcher, {
    headers: [
      ['Authorization', 'Bearer app-token'],
      ['Cookie', 'session=app-cookie'],
    ],
    session: { uploadUrl },
    responseTimeoutMs: 10_000,
    interopVersion: 8,
    ...overrides,
  });
  const run = protocol === 'tus' ? uploadTus({ ...input, metadata: {} }) : uploadIetf(input);
  return { run, events };
}

/** HEAD answers for both protocols: an incomplete upload of this body at `offset`. */
function headReply(offset: string): RouteReply {
  return {
    status: 200,
    headers: [
      ['Upload-Offset', offset],
      ['Upload-Length', String(SIZE)],
      ['Upload-Complete', '?0'],
      ['Tus-Resumable', '1.0.0'],
    ],
  };
}

interface Row {
  name: string;
  protocols: Protocol[];
  head: RouteReply;
  patch?: RouteReply;
  acknowledgedOffset?: number;
  chunkSizeBytes?: number;
  code: ErrorCode;
  /** Whether a PATCH went out before the bad answer (false: nothing was sent on it). */
  patched: boolean;
}

const ROWS: Row[] = [
  {
    name: 'HEAD Upload-Offset not digits',
    protocols: ['tus', 'ietf'],
    head: headReply('12a'),
    code: 'BT_ERR_BAD_OFFSET',
    patched: false,
  },
  {
    name: 'HEAD Upload-Offset negative',
    protocols: ['tus', 'ietf'],
    head: headReply('-5'),
    code: 'BT_ERR_BAD_OFFSET',
    patched: false,
  },
  {
    name: 'HEAD Upload-Offset huge (21 digits)',
    protocols: ['tus', 'ietf'],
    head: headReply('123456789012345678901'),
    code: 'BT_ERR_BAD_OFFSET',
    patched: false,
  },
  {
    name: 'HEAD offset behind what the server acknowledged before',
    protocols: ['tus', 'ietf'],
    head: headReply('100'),
    acknowledgedOffset: 5_000,
    code: 'BT_ERR_BAD_OFFSET',
    patched: false,
  },
  {
    name: 'tus PATCH acknowledged beyond what was sent',
    protocols: ['tus'],
    head: headReply('0'),
    chunkSizeBytes: 50_000,
    patch: { status: 204, headers: [['Upload-Offset', '120000']] },
    code: 'BT_ERR_BAD_OFFSET',
    patched: true,
  },
  {
    name: 'tus PATCH acknowledged with a malformed offset',
    protocols: ['tus'],
    head: headReply('0'),
    chunkSizeBytes: 50_000,
    patch: { status: 204, headers: [['Upload-Offset', '5e4']] },
    code: 'BT_ERR_BAD_OFFSET',
    patched: true,
  },
  {
    name: 'draft 409 naming an offset beyond what was sent',
    protocols: ['ietf'],
    head: headReply('0'),
    patch: { status: 409, headers: [['Upload-Offset', String(SIZE * 2)]] },
    code: 'BT_ERR_BAD_OFFSET',
    patched: true,
  },
  {
    name: 'draft 409 naming an offset behind what was acknowledged',
    protocols: ['ietf'],
    head: headReply('1000'),
    patch: { status: 409, headers: [['Upload-Offset', '10']] },
    code: 'BT_ERR_BAD_OFFSET',
    patched: true,
  },
  {
    name: 'draft 409 with a malformed offset',
    protocols: ['ietf'],
    head: headReply('0'),
    patch: { status: 409, headers: [['Upload-Offset', 'zero']] },
    code: 'BT_ERR_BAD_OFFSET',
    patched: true,
  },
  {
    name: 'draft 410 to an append: the upload completed, not sent again',
    protocols: ['ietf'],
    head: headReply('0'),
    patch: { status: 410, body: 'completed-upload' },
    code: 'BT_ERR_UPLOAD_COMPLETED',
    patched: true,
  },
];

for (const row of ROWS) {
  for (const protocol of row.protocols) {
    test(`${protocol}: ${row.name} → ${row.code}`, async () => {
      const path = `/uploads/${protocol}-${ROWS.indexOf(row)}`;
      server.route(path, (request) => (request.method === 'HEAD' ? row.head : (row.patch ?? { status: 500 })));
      const { run, events } = resume(protocol, `${server.url}${path}`, {
        ...(row.acknowledgedOffset === undefined ? {} : { acknowledgedOffset: row.acknowledgedOffset }),
        ...(row.chunkSizeBytes === undefined ? {} : { chunkSizeBytes: row.chunkSizeBytes }),
      });
      const error = await rejection(run);
      assert.equal(error.code, row.code, error.message);
      assert.ok(!error.message.includes('app-token') && !error.message.includes('app-cookie'));
      const patches = server.requests.filter((request) => request.url === path && request.method === 'PATCH');
      assert.equal(patches.length, row.patched ? 1 : 0);
      assert.deepEqual(events.sessions, [], 'the stored session is neither replaced nor dropped');
      assert.deepEqual(events.responses, [], 'no bad answer is taken for the final response');
    });
  }
}

test('tus: a Location on another origin is followed without the app’s Authorization, Cookie or credentials', async () => {
  server.route('/files', () => ({ status: 201, headers: [['Location', `${elsewhere.url}/uploads/t`]] }));
  elsewhere.route('/uploads/t', (request) =>
    request.method === 'DELETE'
      ? { status: 204 }
      : { status: 204, headers: [['Upload-Offset', String(request.bodyBytes)]] },
  );
  const { input, events } = ietfAttempt(`${server.url}/files`, file, dir.path, dispatcher, {
    headers: [
      ['Authorization', 'Bearer app-token'],
      ['Cookie', 'session=app-cookie'],
      ['X-App', 'kept'],
    ],
  });
  const result = await uploadTus({ ...input, credentials: { userName: 'u', password: 'p' }, metadata: {} });
  assert.equal(result.response.statusCode, 204);
  assert.deepEqual(
    events.sessions.map((session) => session.url),
    [`${elsewhere.url}/uploads/t`],
  );
  const creation = server.requests.find((request) => request.url === '/files')!;
  assert.equal(headerOf(creation.headers, 'authorization'), 'Bearer app-token', 'the app’s origin gets them');
  await terminateTus(`${elsewhere.url}/uploads/t`, dispatcher, input.headers, new AbortController().signal, {
    credentials: { userName: 'u', password: 'p' },
    credentialScope: new URL(`${server.url}/files`),
  });
  const moved = elsewhere.requests.filter((request) => request.url === '/uploads/t');
  assert.deepEqual(
    moved.map((request) => request.method),
    ['PATCH', 'DELETE'],
  );
  assert.equal(moved[0]?.sha256, file.sha256);
  for (const request of moved) {
    assert.equal(headerOf(request.headers, 'authorization'), undefined, `${request.method} carries no Authorization`);
    assert.equal(headerOf(request.headers, 'cookie'), undefined, `${request.method} carries no Cookie`);
    assert.equal(headerOf(request.headers, 'x-app'), 'kept');
  }
});

test('draft: an upload resource on another origin gets no Authorization or Cookie (HEAD, PATCH, DELETE)', async () => {
  elsewhere.route('/uploads/i', (request) => {
    if (request.method === 'HEAD') return headReply('0');
    if (request.method === 'DELETE') return { status: 204 };
    return { status: 200, headers: [['Upload-Complete', '?1']], body: 'stored' };
  });
  const { run } = resume('ietf', `${elsewhere.url}/uploads/i`);
  const result = await run;
  assert.equal(result.response.statusCode, 200);
  await terminateIetf(
    `${elsewhere.url}/uploads/i`,
    dispatcher,
    [
      ['Authorization', 'Bearer app-token'],
      ['Cookie', 'session=app-cookie'],
    ],
    new AbortController().signal,
    { credentialScope: new URL(`${server.url}/files`), interopVersion: 8 },
  );
  const moved = elsewhere.requests.filter((request) => request.url === '/uploads/i');
  assert.deepEqual(
    moved.map((request) => request.method),
    ['HEAD', 'PATCH', 'DELETE'],
  );
  assert.equal(moved[1]?.sha256, file.sha256);
  for (const request of moved) {
    assert.equal(headerOf(request.headers, 'authorization'), undefined, `${request.method} carries no Authorization`);
    assert.equal(headerOf(request.headers, 'cookie'), undefined, `${request.method} carries no Cookie`);
    assert.equal(headerOf(request.headers, 'upload-draft-interop-version'), '8');
  }
});

test('draft: a storm of 500 104s during the upload changes nothing but (monotonic) progress', async () => {
  const draft = await startIetfServer({ interimStorm: 500 });
  try {
    const { input, events } = ietfAttempt(`${draft.url}/target`, file, dir.path, dispatcher, { interopVersion: 8 });
    const result = await uploadIetf(input);
    assert.equal(result.response.statusCode, 201);
    assert.equal(events.sessions.length, 1);
    assert.equal(await draft.sha256(draft.uploadId(events.sessions[0]!.url)), file.sha256);
    for (let index = 1; index < events.offsets.length; index += 1) {
      assert.ok(events.offsets[index]! > events.offsets[index - 1]!, `offsets only grow: ${events.offsets.join(',')}`);
    }
    assert.equal(events.offsets.at(-1), file.size);
  } finally {
    await draft.close();
  }
});

test('draft and tus: a HEAD that never answers times out (BT_ERR_TIMEOUT, retryable), nothing sent', async () => {
  server.route('/uploads/hang', () => ({ hang: true }));
  for (const protocol of ['tus', 'ietf'] as const) {
    const { run } = resume(protocol, `${server.url}/uploads/hang`, { responseTimeoutMs: 1_000 });
    const error = await rejection(run);
    assert.equal(error.code, 'BT_ERR_TIMEOUT', `${protocol}: ${error.message}`);
    assert.equal(error.retryable, true);
  }
  assert.equal(
    server.requests.filter((request) => request.url === '/uploads/hang' && request.method === 'PATCH').length,
    0,
  );
});

test('engine: an upload whose HEAD never answers is retried up to maxAttempts, then fails BT_ERR_TIMEOUT', async () => {
  const h = await startEngine({ maxAttempts: 3, retryBaseDelayMs: 5, responseTimeoutMs: 1_000 });
  try {
    server.route('/tus-files', () => ({ status: 201, headers: [['Location', '/uploads/never']] }));
    // The first PATCH and every HEAD after it hang: each attempt times out.
    server.route('/uploads/never', () => ({ hang: true }));
    const { guid } = h.engine.start(
      h.spec({
        sourcePath: file.path,
        requestedUri: `${server.url}/tus-files`,
        extras: { ...DEFAULT_REQUEST_EXTRAS, resumeProtocol: 'tus' },
      }),
    );
    const final = await h.waitFor(guid, (s) => s.progress.status === S.error, 60_000);
    assert.equal(final.error?.code, 'BT_ERR_TIMEOUT');
    const resource = server.requests.filter((request) => request.url === '/uploads/never');
    assert.deepEqual(
      resource.map((request) => request.method),
      ['PATCH', 'HEAD', 'HEAD'],
      'one creation, then each retry asks the same upload resource (the session was kept)',
    );
    assert.equal(server.requests.filter((request) => request.url === '/tus-files').length, 1);
  } finally {
    await h.close();
  }
});

test('draft: 104s that never end after the body (no final answer) → BT_ERR_TIMEOUT, not a hang', {
  timeout: 60_000,
}, async () => {
  const draft = await startIetfServer({ endlessInterims: true });
  try {
    const { input, events } = ietfAttempt(`${draft.url}/target`, file, dir.path, dispatcher, {
      interopVersion: 8,
      responseTimeoutMs: 1_000,
    });
    const started = Date.now();
    const error = await rejection(uploadIetf(input));
    assert.equal(error.code, 'BT_ERR_TIMEOUT', error.message);
    assert.match(error.message, /interim responses/);
    assert.ok(Date.now() - started < 30_000);
    assert.equal(events.sessions.length, 1, 'the session stays for the retry to resume');
  } finally {
    await draft.close();
  }
});
