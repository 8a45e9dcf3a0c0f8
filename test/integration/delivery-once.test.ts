import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { BackgroundTransferStatus, BackgroundUploader, closeAsync, type UploadOperation } from '../../src/index.ts';
import { hostStatus, stopHost } from '../../src/ipc/host-control.ts';
import { type ApiHome, readAll, useApiHome } from '../helpers/api-home.ts';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.ts';
import { startIetfServer } from '../helpers/ietf-server.ts';
import { listenOnLoopback } from '../helpers/loopback.ts';
import { spawnNode } from '../helpers/process-tools.ts';
import { makeTempDir, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startTusServer } from '../helpers/tus-server.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

/**
 * Exactly-once delivery (docs/delivery-guarantees.md): a 2xx answer completes the upload even when
 * the connection or the process dies while its body comes in; a non-resumable request carries one
 * Idempotency-Key on every attempt; a POST that was only becoming a tus upload when the host was
 * SIGKILLed is created again instead of terminated (R12 is about plain POST bodies).
 */

const KiB = 1024;
const APP = fileURLToPath(new URL('../scripts/start-upload.ts', import.meta.url));
const RESPONSE_BODY = Buffer.alloc(64 * KiB, 'r');

let server: UploadServer;
let files: TempDir;
let home: ApiHome | undefined;
const proxies: FaultProxy[] = [];

before(async () => {
  server = await startUploadServer();
  files = await makeTempDir('delivery-once-');
});
afterEach(async () => {
  await home?.cleanup();
  home = undefined;
});
after(async () => {
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await server.close();
  await files.cleanup();
});

async function proxyTo(port: number): Promise<FaultProxy> {
  const proxy = await startFaultProxy(port);
  proxies.push(proxy);
  return proxy;
}

function header(headers: Array<[string, string]>, name: string): string | undefined {
  return headers.find(([candidate]) => candidate.toLowerCase() === name)?.[1];
}

function outcomeOf(operation: UploadOperation): Promise<string> {
  return Promise.resolve(operation.startAsync()).then(
    (op) => `completed ${op.progress.status}`,
    (error: { code?: string; message?: string }) => `${error.code}: ${error.message}`,
  );
}

for (const method of ['POST', 'PUT']) {
  test(`${method}: a 201 whose body is cut completes the upload once, with what arrived, flagged as truncated`, async () => {
    home = await useApiHome({ retryBaseDelayMs: 50 });
    const path = `/cut-answer-${method}`;
    server.route(path, () => ({ status: 201, headers: [['Content-Type', 'text/plain']], body: RESPONSE_BODY }));
    const proxy = await proxyTo(server.port);
    // The answer's head is a few hundred bytes: the cut falls inside its 64 KiB body.
    proxy.nextConnection({ truncateAfterDownstreamBytes: 4 * KiB });
    const file = await writeRandomFile(files.path, `cut-${method}.bin`, 256 * KiB);
    const uploader = new BackgroundUploader();
    uploader.method = method;
    uploader.resumeProtocol = 'none';
    const operation = uploader.createUpload(`${proxy.url}${path}`, file.path);
    const outcome = await outcomeOf(operation);
    const sent = server.requests.filter((request) => request.url === path);
    assert.equal(proxy.connections[0]?.fault, 'truncate', 'the answer was cut');
    assert.deepEqual(
      { outcome, requests: sent.length },
      { outcome: `completed ${BackgroundTransferStatus.completed}`, requests: 1 },
      'the body went to the server once',
    );
    assert.equal(sent[0]?.sha256, file.sha256);
    const info = operation.getResponseInformation();
    assert.equal(info?.statusCode, 201);
    assert.equal(info?.isBodyTruncated, true);
    const kept = Buffer.from(await readAll(operation.getResultStreamAt(0)));
    assert.ok(kept.length > 0 && kept.length < RESPONSE_BODY.length, `kept ${kept.length} bytes of the answer`);
    assert.ok(RESPONSE_BODY.subarray(0, kept.length).equals(kept), 'what was kept is the start of the answer');
  });
}

test('IETF draft (POST): a 201 whose body is cut completes the upload once, flagged as truncated', async () => {
  home = await useApiHome({ retryBaseDelayMs: 50 });
  const draft = await startIetfServer();
  try {
    const file = await writeRandomFile(files.path, 'cut-ietf.bin', 128 * KiB);
    const send = async (proxy: FaultProxy, path: string): Promise<UploadOperation> => {
      const uploader = new BackgroundUploader();
      uploader.resumeProtocol = 'ietf';
      const operation = uploader.createUpload(`${proxy.url}${path}`, file.path);
      assert.equal(await outcomeOf(operation), `completed ${BackgroundTransferStatus.completed}`);
      return operation;
    };
    // The answers (104, then 201 with a JSON body) have the same length for the same body: measure once.
    const measure = await proxyTo(draft.port);
    await send(measure, '/measure');
    const answerBytes = measure.connections[0]?.downstreamBytes ?? 0;
    const proxy = await proxyTo(draft.port);
    proxy.nextConnection({ truncateAfterDownstreamBytes: answerBytes - 20 });
    const operation = await send(proxy, '/cut');
    assert.equal(proxy.connections[0]?.fault, 'truncate', 'the answer was cut');
    assert.equal(draft.requests.filter((request) => request.url === '/cut').length, 1, 'one creation request');
    const info = operation.getResponseInformation();
    assert.equal(info?.statusCode, 201);
    assert.equal(info?.isBodyTruncated, true);
    const id = draft.uploadId(info?.headers.get('Location') ?? '');
    assert.equal(await draft.sha256(id), file.sha256);
    assert.equal(draft.uploads.get(id)?.receivedBytes, file.size);
  } finally {
    await draft.close();
  }
});

test('a complete answer is not flagged as truncated', async () => {
  home = await useApiHome();
  server.route('/whole-answer', () => ({ status: 201, body: RESPONSE_BODY }));
  const file = await writeRandomFile(files.path, 'whole.bin', 16 * KiB);
  const uploader = new BackgroundUploader();
  uploader.resumeProtocol = 'none';
  const operation = uploader.createUpload(`${server.url}/whole-answer`, file.path);
  assert.equal(await outcomeOf(operation), `completed ${BackgroundTransferStatus.completed}`);
  assert.equal(operation.getResponseInformation()?.isBodyTruncated, false);
});

test('every attempt of a POST carries the same Idempotency-Key (an sf-string); another upload gets another', async () => {
  home = await useApiHome({ retryBaseDelayMs: 50 });
  const proxy = await proxyTo(server.port);
  proxy.nextConnection({ resetAfterUpstreamBytes: 64 * KiB });
  const file = await writeRandomFile(files.path, 'keyed.bin', 512 * KiB);
  const keys = async (path: string): Promise<Array<string | undefined>> => {
    const uploader = new BackgroundUploader();
    uploader.resumeProtocol = 'none';
    const operation = uploader.createUpload(`${proxy.url}${path}`, file.path);
    assert.equal(await outcomeOf(operation), `completed ${BackgroundTransferStatus.completed}`);
    return server.requests.filter((request) => request.url === path).map((r) => header(r.headers, 'idempotency-key'));
  };
  const first = await keys('/keyed-1');
  assert.equal(first.length, 2, 'the reset request and its retry');
  assert.match(first[0] ?? '', /^"[0-9a-f-]{36}"$/);
  assert.equal(first[1], first[0], 'the retry carries the same key');
  const second = await keys('/keyed-2');
  assert.equal(second.length, 1);
  assert.notEqual(second[0], first[0]);
});

test('an app that sets its own Idempotency-Key keeps it', async () => {
  home = await useApiHome();
  const file = await writeRandomFile(files.path, 'own-key.bin', 4 * KiB);
  const uploader = new BackgroundUploader();
  uploader.resumeProtocol = 'none';
  uploader.setRequestHeader('Idempotency-Key', '"mine"');
  const operation = uploader.createUpload(`${server.url}/own-key`, file.path);
  await outcomeOf(operation);
  const sent = server.requests.filter((request) => request.url === '/own-key');
  assert.deepEqual(
    sent.map((request) => request.headers.filter(([name]) => name.toLowerCase() === 'idempotency-key')),
    [[['Idempotency-Key', '"mine"']]],
  );
});

/**
 * The server has read the whole POST and sent its 201 head and part of the body, then holds the rest;
 * the app (in-process engine, so the app is the engine's process) is SIGKILLed. The 2xx was stored when
 * its head arrived: the next process completes the upload instead of terminating it, and sends nothing.
 */
test('SIGKILL after a 2xx head arrived: the next process completes the POST, sends nothing again', async () => {
  home = await useApiHome({}, 'kill-after-answer');
  const held: ServerResponse[] = [];
  let posts = 0;
  const holding: Server = createServer((req, res) => {
    // The "auto" probe (OPTIONS) gets a plain answer: no tus here.
    if (req.method !== 'POST') {
      res.writeHead(204).end();
      return;
    }
    posts += 1;
    req.resume();
    req.on('end', () => {
      res.writeHead(201, { 'Content-Length': '1000', 'Content-Type': 'text/plain' });
      res.write('0123456789');
      held.push(res);
    });
  });
  const { port } = await listenOnLoopback(holding);
  try {
    const file = await writeRandomFile(files.path, 'answered.bin', 256 * KiB);
    const child = spawnNode([APP, 'POST', `http://127.0.0.1:${port}/answered`, file.path], {
      env: { BGTRANSFER_HOME: home.home, BGTRANSFER_HOST: 'inproc', BGTRANSFER_APP_ID: 'kill-after-answer' },
    });
    const guid = (await child.waitForLine(/^started /, 20_000)).split(' ')[1] ?? '';
    // The response file is created right after the 2xx was stored; 10 bytes in it: the body is arriving.
    const bodyPath = join(home.home, 'responses', `${guid}.body`);
    for (let waited = 0; !(existsSync(bodyPath) && statSync(bodyPath).size === 10); waited += 20) {
      assert.ok(waited < 30_000, 'the answer reached the app');
      await sleep(20);
    }
    child.kill('SIGKILL');
    assert.equal((await child.exited).signal, 'SIGKILL');
    const [operation] = await BackgroundUploader.getCurrentUploadsAsync();
    assert.equal(operation?.guid, guid);
    const outcome = await Promise.resolve(operation?.attachAsync()).then(
      () => 'completed',
      (error: { code?: string }) => `${error.code}`,
    );
    assert.deepEqual({ outcome, posts }, { outcome: 'completed', posts: 1 });
    const info = operation?.getResponseInformation();
    assert.equal(info?.statusCode, 201);
    assert.equal(info?.isBodyTruncated, true, 'only 10 of 1000 body bytes arrived');
  } finally {
    for (const res of held) res.destroy();
    holding.closeAllConnections();
    await new Promise<void>((resolve) => holding.close(() => resolve()));
  }
});

test('paused while a 2xx answer comes in, then resumed: completed without sending the POST again', async () => {
  home = await useApiHome({}, 'pause-after-answer');
  const held: ServerResponse[] = [];
  let posts = 0;
  const holding: Server = createServer((req, res) => {
    posts += 1;
    req.resume();
    req.on('end', () => {
      if (posts > 1) {
        res.writeHead(201, { 'Content-Length': '2' }).end('ok');
        return;
      }
      res.writeHead(201, { 'Content-Length': '1000', 'Content-Type': 'text/plain' });
      res.write('0123456789');
      held.push(res);
    });
  });
  const { port } = await listenOnLoopback(holding);
  try {
    const file = await writeRandomFile(files.path, 'paused-answer.bin', 64 * KiB);
    const uploader = new BackgroundUploader();
    uploader.resumeProtocol = 'none';
    const operation = uploader.createUpload(`http://127.0.0.1:${port}/paused-answer`, file.path);
    const outcome = outcomeOf(operation);
    const bodyPath = join(home.home, 'responses', `${operation.guid}.body`);
    for (let waited = 0; !(existsSync(bodyPath) && statSync(bodyPath).size === 10); waited += 20) {
      assert.ok(waited < 30_000, 'the answer reached the engine');
      await sleep(20);
    }
    await operation.pause();
    await operation.resume();
    assert.deepEqual(
      { outcome: await outcome, posts },
      { outcome: `completed ${BackgroundTransferStatus.completed}`, posts: 1 },
    );
    assert.equal(operation.getResponseInformation()?.statusCode, 201);
  } finally {
    for (const res of held) res.destroy();
    holding.closeAllConnections();
    await new Promise<void>((resolve) => holding.close(() => resolve()));
  }
});

/**
 * A tus upload with the default method (POST) and resumeProtocol "auto", through the real transfer
 * host: the server holds the creation request, the host is SIGKILLed while it waits for the Location.
 * The new host creates the upload again (hasRestarted) and completes it, instead of BT_ERR_POST_TERMINATED.
 */
test('host SIGKILLed during a tus creation (method POST): the upload is created again, not terminated', async () => {
  home = await useApiHome({ retryBaseDelayMs: 50 }, 'tus-creation-kill');
  process.env.BGTRANSFER_HOST = 'auto';
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let creations = 0;
  const tus = await startTusServer({
    beforeHandle: (request) => {
      if (request.method !== 'POST') return undefined;
      creations += 1;
      // Only the first creation is held; its answer would go to a dead host.
      return creations === 1 ? released : undefined;
    },
  });
  try {
    const file = await writeRandomFile(files.path, 'tus-post.bin', 512 * KiB);
    const uploader = new BackgroundUploader();
    const operation = uploader.createUpload(tus.endpoint, file.path);
    let restartedReports = 0;
    const done = Promise.resolve(
      operation.startAsync().then(undefined, undefined, (op: UploadOperation) => {
        if (op.progress.hasRestarted) restartedReports += 1;
      }),
    ).then(
      () => 'completed',
      (error: { code?: string; message?: string }) => `${error.code}: ${error.message}`,
    );
    for (let waited = 0; creations === 0; waited += 20) {
      assert.ok(waited < 30_000, 'the creation request reached the server');
      await sleep(20);
    }
    const status = await hostStatus(home.home);
    assert.ok(status, 'a host runs');
    process.kill(status.pid, 'SIGKILL');
    release();
    assert.equal(await done, 'completed');
    assert.equal(creations, 2, 'created again by the new host');
    assert.equal(restartedReports >= 1, true, 'hasRestarted was reported (R38)');
    const info = operation.getResponseInformation();
    assert.ok(info);
    assert.equal(await tus.sha256(tus.uploadIdOfResponse(info)), file.sha256);
  } finally {
    await stopHost(home.home).catch(() => false);
    await closeAsync();
    await tus.close();
  }
});

/**
 * resumeProtocol "ietf", method POST: the draft server has the request's head but has not answered
 * (no 104 yet) and reads no body, so the client has handed only part of the 16 MiB body to the
 * connection when its process is SIGKILLed. A draft server keeps a cut request as an unfinished upload
 * and acts only on a complete one: the next process creates the upload again instead of terminating it.
 */
test('IETF draft (POST) SIGKILLed before the 104 with the body not all sent: created again, not terminated', async () => {
  home = await useApiHome({ retryBaseDelayMs: 50 }, 'ietf-creation-kill');
  const heads: string[] = [];
  const holding: Server = createServer((req) => {
    // Neither a 104 nor a read: the client's body stops in the socket buffers.
    req.pause();
    heads.push(`${req.method} ${req.headers['upload-draft-interop-version'] ?? '-'}`);
  });
  const { port } = await listenOnLoopback(holding);
  try {
    const file = await writeRandomFile(files.path, 'ietf-post.bin', 16 * 1024 * KiB);
    const child = spawnNode([APP, 'POST', `http://127.0.0.1:${port}/ietf-post`, file.path, '--resume-protocol=ietf'], {
      env: { BGTRANSFER_HOME: home.home, BGTRANSFER_HOST: 'inproc', BGTRANSFER_APP_ID: 'ietf-creation-kill' },
    });
    const guid = (await child.waitForLine(/^started /, 20_000)).split(' ')[1] ?? '';
    for (let waited = 0; heads.length === 0; waited += 20) {
      assert.ok(waited < 30_000, 'the creation request reached the server');
      await sleep(20);
    }
    // Let the client fill the socket buffers (it cannot hand over all 16 MiB to a server that reads nothing).
    await sleep(1_000);
    child.kill('SIGKILL');
    assert.equal((await child.exited).signal, 'SIGKILL');
    const [operation] = await BackgroundUploader.getCurrentUploadsAsync();
    assert.equal(operation?.guid, guid);
    assert.ok(
      operation?.progress.status === BackgroundTransferStatus.idle ||
        operation?.progress.status === BackgroundTransferStatus.running,
      `queued to be created again, not ended (status ${operation?.progress.status}, ${operation?.getResponseInformation()})`,
    );
    for (let waited = 0; heads.length < 2; waited += 20) {
      assert.ok(waited < 30_000, 'the creation request was sent again');
      await sleep(20);
    }
    assert.deepEqual(heads, ['POST 6', 'POST 6']);
    await Promise.resolve(operation?.attachAsync().cancel()).catch(() => undefined);
  } finally {
    holding.closeAllConnections();
    await new Promise<void>((resolve) => holding.close(() => resolve()));
  }
});
