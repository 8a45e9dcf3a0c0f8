import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BackgroundTransferStatus } from '../../src/core/enums.ts';
import { homeLayout } from '../../src/core/paths.ts';
import { isProcessRunning } from '../../src/core/process.ts';
import { hostStatus } from '../../src/ipc/host-control.ts';
import { SocketPort } from '../../src/ipc/socket-port.ts';
import { deferred } from '../helpers/deferred.ts';
import {
  type Enumerated,
  type Finished,
  newHome,
  parseLog,
  parseProgress,
  report,
  runApp,
  runningHosts,
  server,
  specFor,
  temp,
  useHostBed,
} from '../helpers/host-bed.ts';
import { writeRandomFile } from '../helpers/temp-dir.ts';
import { hashReply } from '../helpers/upload-server.ts';
import { waitUntil } from '../helpers/wait-for.ts';

/**
 * The transfer host, end to end with real processes (docs/architecture.md): uploads outlive the app
 * that started them and survive a SIGKILLed host; apps see only their own operations; two clients
 * starting the host at once end up with one. Apps run with BGTRANSFER_HOST=auto and start the host
 * themselves.
 */

useHostBed();

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
  await waitUntil(async () => (await hostStatus(home, { appId: 'app-a' }))?.counts.completed === 1, 10_000);

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

test('two clients starting the host at the same moment end up with one host', async () => {
  const home = newHome('race');
  const clients = [runApp('status-and-wait', home, 'app-a', [home]), runApp('status-and-wait', home, 'app-b', [home])];
  const pids = await Promise.all(clients.map((client) => report<{ pid: number }>(client, 'HOST')));
  assert.equal(pids[0]?.pid, pids[1]?.pid);
  // A host that lost the race exits 0 as soon as it sees the engine lock taken; only the winner stays.
  await waitUntil(async () => runningHosts(home).length === 1, 10_000);
  assert.deepEqual(runningHosts(home), [pids[0]?.pid]);
  assert.equal(readFileSync(homeLayout(home).lock, 'utf8').trim(), String(pids[0]?.pid));
  assert.equal((await hostStatus(home))?.pid, pids[0]?.pid);
});
