import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BackgroundTransferStatus } from '../../src/core/enums.ts';
import { homeLayout } from '../../src/core/paths.ts';
import { isProcessRunning } from '../../src/core/process.ts';
import type { OperationSpec } from '../../src/core/snapshot.ts';
import { hostStatus, stopHost } from '../../src/ipc/host-control.ts';
import { hostLogPath, hostSocketPath, PROTOCOL_VERSION } from '../../src/ipc/protocol.ts';
import { SocketPort } from '../../src/ipc/socket-port.ts';
import { type NodeChild, spawnNode } from '../helpers/process-tools.ts';
import { rawSession, request } from '../helpers/raw-socket.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

/**
 * The transfer host, end to end with real processes (docs/architecture.md). Apps run with
 * BGTRANSFER_HOST=auto and start the host themselves; the test kills it, feeds its socket garbage and
 * tries it as another OS user. Every home gets its own host, stopped in `after`.
 */

const API_URL = pathToFileURL(fileURLToPath(new URL('../../src/index.ts', import.meta.url))).href;
const SOCKET_PORT_URL = pathToFileURL(fileURLToPath(new URL('../../src/ipc/socket-port.ts', import.meta.url))).href;
const THROTTLE_BYTES_PER_SECOND = 1024 * 1024;

let temp: TempDir;
let server: UploadServer;
const homes: string[] = [];
const apps: NodeChild[] = [];

before(async () => {
  temp = await makeTempDir('bt-host-test-');
  server = await startUploadServer({ throttleBytesPerSecond: THROTTLE_BYTES_PER_SECOND });
  writeScripts(temp.path);
});

after(async () => {
  // Hosts first, while the apps that spawned them are alive to reap them (PID 1 here does not).
  for (const home of homes) await stopHost(home).catch(() => false);
  for (const app of apps) app.kill('SIGTERM');
  await Promise.all(apps.map((app) => app.exited));
  await server.close();
  await temp.cleanup();
});

function newHome(name: string): string {
  const home = join(temp.path, name);
  homes.push(home);
  return home;
}

function runApp(script: string, home: string, appId: string, args: string[] = []): NodeChild {
  const app = spawnNode([join(temp.path, `${script}.mts`), ...args], {
    env: { BGTRANSFER_HOME: home, BGTRANSFER_HOST: 'auto', BGTRANSFER_APP_ID: appId, BGTRANSFER_LOG_LEVEL: 'info' },
  });
  apps.push(app);
  return app;
}

/** The JSON after `TAG ` in the app's first stdout line that starts with it. */
async function report<T>(app: NodeChild, tag: string, timeoutMs = 20_000): Promise<T> {
  const line = await app.waitForLine(new RegExp(`^${tag} `), timeoutMs);
  return JSON.parse(line.slice(tag.length + 1)) as T;
}

test('an upload goes on after its app exits; a later app attaches to it (R10) and sees one that completed meanwhile (R11)', async () => {
  const home = newHome('exit');
  const slow = await writeRandomFile(temp.path, 'slow.bin', 3 * 1024 * 1024);
  const fast = await writeRandomFile(temp.path, 'fast.bin', 64 * 1024);
  // The test holds the answers to the PUTs: the fast one's until the first app has exited, so it
  // completes while no app runs (R11); the slow one's until the second app has seen it running.
  const fastAnswer = deferred();
  const slowAnswer = deferred();
  server.route('/fast', async (request) => {
    if (request.method === 'PUT') await fastAnswer.promise;
    return hashReply(request);
  });
  server.route('/slow', async (request) => {
    if (request.method === 'PUT') await slowAnswer.promise;
    return hashReply(request);
  });

  const first = runApp('start-and-exit', home, 'app-a', [
    fast.path,
    `${server.url}/fast`,
    slow.path,
    `${server.url}/slow`,
  ]);
  const started = await report<{ fast: string; slow: string }>(first, 'STARTED');
  assert.deepEqual(await first.exited, { code: 0, signal: null });

  const status = await hostStatus(home, { appId: 'app-a' });
  assert.ok(status, 'the host must outlive the app that started it');
  assert.equal(status.counts.running ?? 0, 2);
  fastAnswer.resolve();
  await waitFor(async () => (await hostStatus(home, { appId: 'app-a' }))?.counts.completed === 1, 10_000);

  const second = runApp('enumerate-and-attach', home, 'app-a');
  const found = await report<Enumerated[]>(second, 'ENUMERATED');
  assert.deepEqual(found.map((entry) => entry.guid).sort(), [started.fast, started.slow].sort());
  const fastEntry = found.find((entry) => entry.guid === started.fast);
  assert.equal(fastEntry?.status, BackgroundTransferStatus.completed);
  assert.equal(fastEntry?.statusCode, 201);
  assert.deepEqual(JSON.parse(fastEntry?.body ?? 'null'), { sha256: fast.sha256, bytes: fast.size });
  assert.equal(found.find((entry) => entry.guid === started.slow)?.status, BackgroundTransferStatus.running);
  slowAnswer.resolve();

  const attached = await report<Enumerated>(second, 'ATTACHED', 15_000);
  assert.equal(attached.guid, started.slow);
  assert.equal(attached.status, BackgroundTransferStatus.completed);
  assert.equal(attached.statusCode, 201);
  assert.deepEqual(await second.exited, { code: 0, signal: null }, 'an idle connection must not keep the app alive');
  const slowRequests = server.requests.filter((request) => request.url === '/slow' && request.method === 'PUT');
  assert.equal(slowRequests.length, 1, 'the upload went on, it was not restarted');
  assert.equal(slowRequests[0]?.sha256, slow.sha256);
});

test('SIGKILL of the host mid-upload: the attached app reconnects to a new host and sees the upload finish (R38)', async () => {
  const home = newHome('kill');
  const file = await writeRandomFile(temp.path, 'kill.bin', 2 * 1024 * 1024);
  const app = runApp('watch-through-kill', home, 'app-a', [file.path, `${server.url}/kill`]);
  const { guid } = await report<{ guid: string }>(app, 'STARTED');
  const before = await hostStatus(home, { appId: 'app-a' });
  assert.ok(before);
  await server.waitForRequest((request) => request.url === '/kill' && request.bodyBytes >= 256 * 1024, 10_000);

  const killedAtMs = Date.now();
  process.kill(before.pid, 'SIGKILL');
  const done = await report<Finished>(app, 'DONE', 30_000);

  assert.equal(done.guid, guid);
  assert.equal(done.status, BackgroundTransferStatus.completed);
  assert.equal(done.statusCode, 201);
  assert.equal(done.sameGuid, 1, 'exactly one operation with that guid');
  const progress = app.stdoutLines.filter((line) => line.startsWith('PROGRESS ')).map(parseProgress);
  const restarted = progress.filter((entry) => entry.hasRestarted);
  assert.equal(restarted.length, 1, 'hasRestarted is true in exactly one progress report (R38)');
  assert.ok((restarted[0]?.atMs ?? 0) >= killedAtMs);

  const afterKill = await hostStatus(home, { appId: 'app-a' });
  assert.ok(afterKill);
  assert.notEqual(afterKill.pid, before.pid);
  assert.equal(isProcessRunning(before.pid), false);
  const requests = server.requests.filter((request) => request.url === '/kill' && request.method === 'PUT');
  assert.equal(requests.length, 2);
  assert.equal(requests[0]?.complete, false);
  assert.equal(requests[1]?.sha256, file.sha256);

  const firstAfterKill = progress.find((entry) => entry.atMs >= killedAtMs);
  const reconnect = app.stderrLines
    .map(parseLog)
    .find(
      (entry) => entry?.msg === 'connected to the transfer host' && entry.attempt === 0 && entry.time >= killedAtMs,
    );
  console.log(
    `SIGKILL → reconnected in ${reconnect?.connectMs} ms (new host started), first progress after ${(firstAfterKill?.atMs ?? Number.NaN) - killedAtMs} ms`,
  );
  assert.ok(reconnect && reconnect.connectMs < 10_000);
});

test('an app sees only its own operations: app-b gets BT_ERR_NOT_FOUND for app-a’s guid', async () => {
  const home = newHome('isolation');
  const file = await writeRandomFile(temp.path, 'iso.bin', 1024 * 1024);
  const port = new SocketPort(home);
  try {
    const spec = specFor('app-a', file, `${server.url}/iso`);
    const started = await port.call('start', spec.appId, { spec });
    assert.equal(started.guid, spec.guid);
    // The retry of a start lost with its connection: same guid → the stored operation, no duplicate.
    assert.equal((await port.call('start', spec.appId, { spec })).guid, spec.guid);
    assert.equal((await port.call('list', 'app-a', { filter: { kind: 'all' } })).length, 1);

    assert.deepEqual(await port.call('list', 'app-b', { filter: { kind: 'all' } }), []);
    await assert.rejects(port.call('get', 'app-b', { guid: spec.guid }), { code: 'BT_ERR_NOT_FOUND' });
    await assert.rejects(port.call('cancel', 'app-b', { guid: spec.guid }), { code: 'BT_ERR_NOT_FOUND' });
    await assert.rejects(port.call('update', 'app-b', { guid: spec.guid, change: { priority: 1 } }), {
      code: 'BT_ERR_NOT_FOUND',
    });
    await assert.rejects(port.call('start', 'app-b', { spec: { ...spec, appId: 'app-b' } }), {
      code: 'BT_ERR_INVALID_ARGUMENT',
    });
    const appB = runApp('enumerate-and-attach', home, 'app-b');
    assert.deepEqual(await report<Enumerated[]>(appB, 'ENUMERATED'), []);
    assert.equal((await appB.exited).code, 0);
    const own = await port.call('get', 'app-a', { guid: spec.guid });
    assert.notEqual(own.progress.status, BackgroundTransferStatus.canceled);
  } finally {
    await port.close();
  }
});

test('garbage on the socket gets an error reply or a close, and the host keeps serving', async () => {
  const home = newHome('garbage');
  const port = new SocketPort(home);
  try {
    const { pid } = await port.status('app-a');
    const socketPath = hostSocketPath(home);

    const notJson = await rawSession(socketPath, ['not json']);
    assert.equal(notJson.replies[0]?.error?.code, 'BT_ERR_IPC_PROTOCOL');
    assert.equal(notJson.closed, true, 'nothing is trusted before hello');

    const noHello = await rawSession(socketPath, [request(7, 'list', { filter: { kind: 'all' } })]);
    assert.deepEqual([noHello.replies[0]?.id, noHello.replies[0]?.error?.code], [7, 'BT_ERR_IPC_PROTOCOL']);
    assert.equal(noHello.closed, true);

    const wrongVersion = await rawSession(socketPath, [request(1, 'hello', { protocolVersion: 99, appId: 'x' })]);
    assert.match(wrongVersion.replies[0]?.error?.message ?? '', new RegExp(`protocol ${PROTOCOL_VERSION}\\b`));
    assert.equal(wrongVersion.closed, true);

    const afterHello = await rawSession(socketPath, [
      request(1, 'hello', { protocolVersion: PROTOCOL_VERSION, appId: 'app-a' }),
      `{"v":${PROTOCOL_VERSION},"id":2,`,
      request(3, 'explode', {}),
      request(4, 'get', { guid: 42 }),
      request(5, 'list', { filter: { kind: 'all' } }),
    ]);
    assert.deepEqual(
      afterHello.replies.map((reply) => [reply.id, reply.ok, reply.error?.code]),
      [
        [1, true, undefined],
        [null, false, 'BT_ERR_IPC_PROTOCOL'],
        [3, false, 'BT_ERR_IPC_PROTOCOL'],
        [4, false, 'BT_ERR_INVALID_ARGUMENT'],
        [5, true, undefined],
      ],
    );
    assert.equal(afterHello.closed, false, 'a bad request after hello does not cost the connection');

    const huge = await rawSession(socketPath, [
      request(1, 'hello', { protocolVersion: PROTOCOL_VERSION, appId: 'a' }),
      'x'.repeat(2 * 1024 * 1024),
    ]);
    assert.equal(huge.closed, true);
    assert.ok(huge.replies.length === 1 || huge.replies[1]?.error?.code === 'BT_ERR_IPC_PROTOCOL');

    assert.deepEqual(await port.call('list', 'app-a', { filter: { kind: 'all' } }), []);
    assert.equal((await hostStatus(home))?.pid, pid);
    assert.match(readFileSync(hostLogPath(home), 'utf8'), /"msg":"bad request"/);
  } finally {
    await port.close();
  }
});

test('a client that stops reading stalls neither the host nor other clients; it still gets every terminal snapshot', async () => {
  const home = newHome('slow-reader');
  const file = await writeRandomFile(temp.path, 'slow-reader.bin', 1024 * 1024);
  const port = new SocketPort(home);
  const watches = 2_000;
  try {
    const spec = specFor('app-a', file, `${server.url}/slow-reader`);
    await port.call('start', spec.appId, { spec });
    // Thousands of watches on one upload: every progress tick is ~1.5 MB for this connection, and it
    // reads nothing (no 'data' listener), so the host's buffer for it passes the coalescing bound.
    const reader = connect(hostSocketPath(home));
    reader.on('error', () => undefined);
    const frames = [request(1, 'hello', { protocolVersion: PROTOCOL_VERSION, appId: 'app-a' })];
    for (let watchId = 1; watchId <= watches; watchId += 1) {
      frames.push(request(watchId + 1, 'watch', { guid: spec.guid, watchId }));
    }
    reader.write(`${frames.join('\n')}\n`);

    const latenciesMs: number[] = [];
    const ended = new Promise<void>((resolve) => {
      const stop = port.watch('app-a', spec.guid, (snapshot) => {
        if (snapshot.progress.status !== BackgroundTransferStatus.completed) return;
        stop();
        resolve();
      });
    });
    while (latenciesMs.length < 5) {
      const startedMs = performance.now();
      await port.status('app-a');
      latenciesMs.push(performance.now() - startedMs);
      await sleep(100);
    }
    await ended;
    assert.ok(Math.max(...latenciesMs) < 500, `status took ${latenciesMs.map(Math.round).join(', ')} ms`);

    const lastByWatch = new Map<number, number>();
    let pushes = 0;
    await new Promise<void>((resolve) => {
      let buffered = '';
      let quiet = setTimeout(resolve, 2_000);
      reader.on('data', (chunk) => {
        buffered += chunk.toString('utf8');
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          const frame = JSON.parse(line) as {
            push?: string;
            watchId: number;
            snapshot: { progress: { status: number } };
          };
          if (frame.push === undefined) continue;
          pushes += 1;
          lastByWatch.set(frame.watchId, frame.snapshot.progress.status);
        }
        clearTimeout(quiet);
        quiet = setTimeout(resolve, 500);
      });
    });
    reader.destroy();
    assert.equal(lastByWatch.size, watches);
    assert.deepEqual(new Set(lastByWatch.values()), new Set([BackgroundTransferStatus.completed]));
    console.log(
      `slow reader: ${pushes} pushes for ${watches} watches; status latency max ${Math.round(Math.max(...latenciesMs))} ms`,
    );
  } finally {
    await port.close();
  }
});

test('a call in flight when the connection drops is sent once more on a new connection, unless unsafe', async () => {
  // A scripted host: it answers hello, and drops the connection the first time it sees each listed method.
  const home = join(temp.path, 'scripted');
  mkdirSync(home, { mode: 0o700 });
  const dropOnce = new Set(['listPage', 'update']);
  const seen: string[] = [];
  let connections = 0;
  const scripted = createServer((socket) => {
    const connection = ++connections;
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const { id, method } = JSON.parse(line) as { id: number; method: string };
        seen.push(`${connection}:${method}`);
        if (dropOnce.delete(method)) {
          socket.destroy();
          return;
        }
        const result =
          method === 'hello'
            ? { protocolVersion: PROTOCOL_VERSION, pid: process.pid, home }
            : method === 'listPage'
              ? { operations: [], next: null }
              : [];
        socket.write(`${JSON.stringify({ v: PROTOCOL_VERSION, id, ok: true, result })}\n`);
      }
    });
  });
  await new Promise<void>((resolve) => scripted.listen(hostSocketPath(home), resolve));
  const port = new SocketPort(home);
  try {
    assert.deepEqual(await port.call('list', 'app-a', { filter: { kind: 'all' } }), []);
    assert.deepEqual(seen, ['1:hello', '1:listPage', '2:hello', '2:listPage']);
    // R63: a repeated setHeader joins the value twice, so it is not re-sent.
    await assert.rejects(port.call('update', 'app-a', { guid: randomUUID(), change: { setHeader: ['X-Tag', 'a'] } }), {
      code: 'BT_ERR_HOST_UNREACHABLE',
    });
    assert.deepEqual(seen.slice(4), ['2:update']);
  } finally {
    await port.close();
    await new Promise((resolve) => scripted.close(resolve));
  }
});

test('another OS user cannot connect to the host socket (EACCES)', async () => {
  const home = newHome('other-user');
  const port = new SocketPort(home);
  try {
    await port.status('app-a');
    const socketPath = hostSocketPath(home);
    assert.equal(statSync(home).mode & 0o777, 0o700);
    assert.equal(statSync(socketPath).mode & 0o777, 0o600);
    chmodSync(temp.path, 0o711); // let `nobody` reach the home itself, so the home's mode is what stops it
    try {
      assert.equal(await connectAsNobody(socketPath), 'EACCES');
      chmodSync(home, 0o711); // and with the home open too, the socket's own 0600 still refuses
      assert.equal(await connectAsNobody(socketPath), 'EACCES');
    } finally {
      chmodSync(home, 0o700);
      chmodSync(temp.path, 0o700);
    }
  } finally {
    await port.close();
  }
});

test('two clients starting the host at the same moment end up with one host', async () => {
  const home = newHome('race');
  const clients = [runApp('status-and-wait', home, 'app-a', [home]), runApp('status-and-wait', home, 'app-b', [home])];
  const pids = await Promise.all(clients.map((client) => report<{ pid: number }>(client, 'HOST')));
  assert.equal(pids[0]?.pid, pids[1]?.pid);
  // A host that lost the race exits 0 as soon as it sees the engine lock taken; only the winner stays.
  await waitFor(async () => runningHosts(home).length === 1, 10_000);
  assert.deepEqual(runningHosts(home), [pids[0]?.pid]);
  assert.equal(readFileSync(homeLayout(home).lock, 'utf8').trim(), String(pids[0]?.pid));
  assert.equal((await hostStatus(home))?.pid, pids[0]?.pid);
});

// ---- helpers

interface Enumerated {
  guid: string;
  status: number;
  statusCode: number | null;
  body: string | null;
}

interface Finished {
  guid: string;
  status: number;
  statusCode: number | null;
  sameGuid: number;
}

interface ProgressLine {
  atMs: number;
  bytesSent: number;
  hasRestarted: boolean;
}

function parseProgress(line: string): ProgressLine {
  return JSON.parse(line.slice('PROGRESS '.length)) as ProgressLine;
}

function parseLog(line: string): { msg?: string; time: number; connectMs: number; attempt: number } | undefined {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

function hashReply(request: { sha256: string | null; bodyBytes: number }) {
  return {
    status: 201,
    headers: [['Content-Type', 'application/json']] as Array<[string, string]>,
    body: JSON.stringify({ sha256: request.sha256, bytes: request.bodyBytes }),
  };
}

function specFor(appId: string, file: RandomFile, url: string): OperationSpec {
  return {
    guid: randomUUID(),
    appId,
    method: 'PUT',
    requestedUri: url,
    sourcePath: file.path,
    headers: [],
    costPolicy: 0,
    priority: 0,
    group: null,
    transferGroup: null,
  };
}

/** Promise.withResolvers, which Node 20 lacks. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** Runs a one-line connect as the unprivileged user `nobody`; resolves with the error code it got. */
async function connectAsNobody(path: string): Promise<string> {
  const script = `require('net').connect(${JSON.stringify(path)}).on('connect', () => { console.log('CONNECTED'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); })`;
  const child = spawn('runuser', ['-u', 'nobody', '--', process.execPath, '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  child.stderr.on('data', (chunk) => {
    out += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  assert.equal(code, 0, `runuser failed: ${out}`);
  return out.trim();
}

/** Live processes running host-entry for this home (a zombie's cmdline is empty). */
function runningHosts(home: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('host-entry')) continue;
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (env.includes(`BGTRANSFER_HOME=${home}`) && isProcessRunning(pid)) pids.push(pid);
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** The app processes, as .mts files importing the package source (run with tsx by spawnNode). */
function writeScripts(dir: string): void {
  const scripts: Record<string, string> = {
    'start-and-exit': `
      import { BackgroundUploader, StorageFile } from '${API_URL}';
      const [fastPath, fastUrl, slowPath, slowUrl] = process.argv.slice(2);
      const uploader = new BackgroundUploader();
      uploader.method = 'PUT';
      const fast = uploader.createUpload(fastUrl, await StorageFile.getFileFromPathAsync(fastPath));
      const slow = uploader.createUpload(slowUrl, await StorageFile.getFileFromPathAsync(slowPath));
      fast.startAsync();
      // The first progress report means the host stored and runs it (and the start before it).
      await new Promise((resolve) => slow.startAsync().progress(resolve));
      console.log('STARTED ' + JSON.stringify({ fast: fast.guid, slow: slow.guid }));
      process.exit(0);`,
    'enumerate-and-attach': `
      import { BackgroundUploader } from '${API_URL}';
      const describe = async (op) => {
        const response = op.getResponseInformation();
        let body = null;
        if (op.progress.status === 5) {
          body = '';
          for await (const chunk of op.getResultStreamAt(0)) body += chunk;
        }
        return { guid: op.guid, status: op.progress.status, statusCode: response?.statusCode ?? null, body };
      };
      const operations = [...(await BackgroundUploader.getCurrentUploadsAsync())];
      console.log('ENUMERATED ' + JSON.stringify(await Promise.all(operations.map(describe))));
      for (const op of operations.filter((op) => op.progress.status === 1)) {
        await op.attachAsync();
        console.log('ATTACHED ' + JSON.stringify(await describe(op)));
      }`,
    'watch-through-kill': `
      import { BackgroundUploader, StorageFile } from '${API_URL}';
      const [path, url] = process.argv.slice(2);
      const uploader = new BackgroundUploader();
      uploader.method = 'PUT';
      const op = uploader.createUpload(url, await StorageFile.getFileFromPathAsync(path));
      let started = false;
      await op.startAsync().progress((o) => {
        const { bytesSent, hasRestarted } = o.progress;
        console.log('PROGRESS ' + JSON.stringify({ atMs: Date.now(), bytesSent, hasRestarted }));
        if (!started) console.log('STARTED ' + JSON.stringify({ guid: o.guid }));
        started = true;
      });
      const all = [...(await BackgroundUploader.getCurrentUploadsAsync())];
      const sameGuid = all.filter((other) => other.guid === op.guid).length;
      const statusCode = op.getResponseInformation()?.statusCode ?? null;
      console.log('DONE ' + JSON.stringify({ guid: op.guid, status: op.progress.status, statusCode, sameGuid }));
      // Stay until the test has stopped the host this process started, so that it is reaped.
      setInterval(() => undefined, 1_000);`,
    'status-and-wait': `
      import { SocketPort } from '${SOCKET_PORT_URL}';
      const port = new SocketPort(process.argv[2]);
      console.log('HOST ' + JSON.stringify({ pid: (await port.status()).pid }));
      await port.close();
      setInterval(() => undefined, 1_000);`,
  };
  for (const [name, body] of Object.entries(scripts)) writeFileSync(join(dir, `${name}.mts`), body);
}
