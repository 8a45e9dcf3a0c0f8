import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BackgroundTransferCostPolicy,
  BackgroundTransferStatus,
  BackgroundUploader,
  closeAsync,
  type UploadOperation,
} from '../../src/index.ts';
import { hostStatus, stopHost } from '../../src/ipc/host-control.ts';
import { hostLogPath } from '../../src/ipc/protocol.ts';
import { SocketPort } from '../../src/ipc/socket-port.ts';
import { type PrivateBus, startPrivateBus } from '../helpers/dbus-session.ts';
import {
  type FakeNetworkManagerProcess,
  ONLINE_UNMETERED,
  spawnFakeNetworkManager,
} from '../helpers/fake-network-manager.ts';
import { type FakeNotificationService, startFakeNotificationService } from '../helpers/fake-notification-service.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

/**
 * The real transfer host (BGTRANSFER_HOST=auto) on private D-Bus daemons: its system bus carries a fake
 * NetworkManager in its own process (R50 no-network waiting, R52–R54 metered networks, the `metered`
 * setting), its session bus a fake org.freedesktop.Notifications (R74–R76 toasts). This process is the
 * app; every home gets its own host, started by the API from this process (so it is reaped here).
 */

const APP_ID = 'dbus-app';

let temp: TempDir;
let server: UploadServer;
let source: RandomFile;
let systemBus: PrivateBus;
let sessionBus: PrivateBus;
let networkManager: FakeNetworkManagerProcess;
let notifications: FakeNotificationService;
const homes: string[] = [];

before(async () => {
  temp = await makeTempDir('bgtransfer-host-dbus-');
  server = await startUploadServer();
  source = await writeRandomFile(temp.path, 'source.bin', 512 * 1024 + 9);
  [systemBus, sessionBus] = await Promise.all([startPrivateBus(), startPrivateBus()]);
  networkManager = await spawnFakeNetworkManager(systemBus.address, ONLINE_UNMETERED);
  notifications = await startFakeNotificationService(sessionBus.address);
  // What the host inherits from the app that starts it.
  process.env.DBUS_SYSTEM_BUS_ADDRESS = systemBus.address;
  process.env.DBUS_SESSION_BUS_ADDRESS = sessionBus.address;
  process.env.BGTRANSFER_HOST = 'auto';
  process.env.BGTRANSFER_APP_ID = APP_ID;
});
afterEach(async () => {
  await closeAsync();
});
after(async () => {
  for (const home of homes) await stopHost(home).catch(() => false);
  await notifications?.stop();
  await networkManager?.stop();
  await sessionBus?.stop();
  await systemBus?.stop();
  await server.close();
  await temp.cleanup();
});

/**
 * A fresh home for this process's API, with an optional config.json, and its host — started from this
 * process (so it is reaped here) with this process's environment plus info-level logs in host.log.
 */
async function useHome(name: string, config: Record<string, unknown> = {}): Promise<string> {
  const home = join(temp.path, name);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  if (Object.keys(config).length > 0) writeFileSync(join(home, 'config.json'), JSON.stringify(config));
  homes.push(home);
  const starter = new SocketPort(home, { env: { ...process.env, BGTRANSFER_LOG_LEVEL: 'info' } });
  await starter.status(APP_ID);
  await starter.close();
  process.env.BGTRANSFER_HOME = home;
  return home;
}

function uploader(): BackgroundUploader {
  const result = new BackgroundUploader();
  result.method = 'PUT';
  result.resumeProtocol = 'none';
  return result;
}

/** Starts the upload and records every status its progress reports show. */
function startWatched(operation: UploadOperation): { done: Promise<UploadOperation>; statuses: number[] } {
  const statuses: number[] = [];
  const done = Promise.resolve(
    operation.startAsync().then(undefined, undefined, (op: UploadOperation) => {
      if (statuses.at(-1) !== op.progress.status) statuses.push(op.progress.status);
    }),
  );
  done.catch(() => undefined);
  return { done, statuses };
}

async function storedStatus(guid: string): Promise<number | undefined> {
  const all = [...(await BackgroundUploader.getCurrentUploadsAsync())];
  return all.find((op) => op.guid === guid)?.progress.status;
}

async function waitForStatus(guid: string, status: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await storedStatus(guid);
    if (now === status) return;
    assert.ok(Date.now() < deadline, `upload ${guid} is in status ${now}, not ${status}`);
    await sleep(20);
  }
}

const putsTo = (path: string) => server.requests.filter((request) => request.url === path && request.method === 'PUT');

test('R50: NetworkManager says disconnected → pausedNoNetwork and no request; connected → it completes', async () => {
  await networkManager.set({ State: 20, Connectivity: 1, Metered: 4 });
  await useHome('no-network');
  const operation = uploader().createUpload(`${server.url}/nonet`, source.path);
  const { done, statuses } = startWatched(operation);
  await waitForStatus(operation.guid, BackgroundTransferStatus.pausedNoNetwork);
  await sleep(700);
  assert.equal(await storedStatus(operation.guid), BackgroundTransferStatus.pausedNoNetwork);
  assert.deepEqual(putsTo('/nonet'), [], 'no attempt is made without connectivity');

  const reconnectedAtMs = performance.now();
  await networkManager.set({ State: 70, Connectivity: 4 });
  await done;
  const latencyMs = performance.now() - reconnectedAtMs;
  assert.equal(operation.progress.status, BackgroundTransferStatus.completed);
  assert.ok(statuses.includes(BackgroundTransferStatus.pausedNoNetwork), `statuses seen: ${statuses.join(', ')}`);
  const requests = putsTo('/nonet');
  assert.equal(requests.length, 1);
  assert.equal(requests[0]?.sha256, source.sha256);
  console.log(`R50: completed ${Math.round(latencyMs)} ms after NetworkManager said connected`);
});

test('R53: Metered=1 → an unrestrictedOnly upload waits in pausedCostedNetwork while a default one completes; Metered=2 → it completes', async () => {
  await networkManager.set({ State: 70, Connectivity: 4, Metered: 1 });
  await useHome('metered');
  const picky = uploader();
  picky.costPolicy = BackgroundTransferCostPolicy.unrestrictedOnly;
  const waiting = picky.createUpload(`${server.url}/metered/picky`, source.path);
  const anyNetwork = uploader().createUpload(`${server.url}/metered/default`, source.path);
  const watched = startWatched(waiting);
  await anyNetwork.startAsync();
  assert.equal(anyNetwork.progress.status, BackgroundTransferStatus.completed);
  await waitForStatus(waiting.guid, BackgroundTransferStatus.pausedCostedNetwork);
  await sleep(300);
  assert.deepEqual(putsTo('/metered/picky'), []);

  await networkManager.set({ Metered: 2 });
  await watched.done;
  assert.equal(waiting.progress.status, BackgroundTransferStatus.completed);
  assert.ok(watched.statuses.includes(BackgroundTransferStatus.pausedCostedNetwork));
  assert.equal(putsTo('/metered/picky')[0]?.sha256, source.sha256);
});

test('config metered "yes" forces metered although NetworkManager says unmetered; "no" forces unmetered', async () => {
  await networkManager.set({ State: 70, Connectivity: 4, Metered: 2 });
  await useHome('forced-yes', { metered: 'yes' });
  const picky = uploader();
  picky.costPolicy = BackgroundTransferCostPolicy.unrestrictedOnly;
  const waiting = picky.createUpload(`${server.url}/forced/picky`, source.path);
  const watched = startWatched(waiting);
  const always = uploader();
  always.costPolicy = BackgroundTransferCostPolicy.always;
  await always.createUpload(`${server.url}/forced/always`, source.path).startAsync();
  await uploader().createUpload(`${server.url}/forced/default`, source.path).startAsync();
  await waitForStatus(waiting.guid, BackgroundTransferStatus.pausedCostedNetwork);
  await sleep(300);
  assert.deepEqual(putsTo('/forced/picky'), []);
  // R52: a cost policy changed on a waiting upload takes effect at once.
  waiting.costPolicy = BackgroundTransferCostPolicy.always;
  await watched.done;
  assert.equal(putsTo('/forced/picky')[0]?.sha256, source.sha256);
  assert.ok(watched.statuses.includes(BackgroundTransferStatus.pausedCostedNetwork));

  await closeAsync();
  await networkManager.set({ Metered: 1 });
  await useHome('forced-no', { metered: 'no' });
  const unmetered = picky.createUpload(`${server.url}/forced/unmetered`, source.path);
  const seen = startWatched(unmetered);
  await seen.done;
  assert.ok(!seen.statuses.includes(BackgroundTransferStatus.pausedCostedNetwork), `statuses ${seen.statuses.join()}`);
  assert.equal(putsTo('/forced/unmetered')[0]?.sha256, source.sha256);
});

test('a running host applies a changed "metered" setting from config.json', async () => {
  await networkManager.set({ State: 70, Connectivity: 4, Metered: 2 });
  const home = await useHome('forced-reload', { metered: 'yes' });
  const picky = uploader();
  picky.costPolicy = BackgroundTransferCostPolicy.unrestrictedOnly;
  const waiting = picky.createUpload(`${server.url}/reload/picky`, source.path);
  const watched = startWatched(waiting);
  await waitForStatus(waiting.guid, BackgroundTransferStatus.pausedCostedNetwork);
  assert.match(readFileSync(hostLogPath(home), 'utf8'), /connected, metered \(forced\)/);

  writeFileSync(join(home, 'config.json'), JSON.stringify({ metered: 'no' }));
  await waitFor(
    'the host to reload config.json',
    () => readFileSync(hostLogPath(home), 'utf8').includes('config.json reloaded'),
    10_000,
  );
  // Unmetered now (NetworkManager says Metered=2 and the setting no longer forces anything): it must go.
  const outcome = await Promise.race([watched.done.then(() => 'completed'), sleep(5_000).then(() => 'still waiting')]);
  assert.equal(
    outcome,
    'completed',
    `after the reload the upload is in status ${await storedStatus(waiting.guid)} (3 = pausedCostedNetwork)`,
  );
  assert.equal(putsTo('/reload/picky')[0]?.sha256, source.sha256);
});

test('R74: the success notification is shown once, after both uploads of the uploader completed', async () => {
  await networkManager.set({ ...ONLINE_UNMETERED });
  await useHome('toast-success');
  const before = notifications.notifications.length;
  let releaseSecond: () => void = () => undefined;
  const secondHeld = new Promise<void>((resolve) => {
    releaseSecond = resolve;
  });
  server.route('/toast/second', async (request) => {
    if (request.method === 'PUT') await secondHeld;
    return { status: 201, body: 'stored' };
  });
  const toasting = uploader();
  toasting.successToastNotification = 'all done';
  toasting.failureToastNotification = 'something failed';
  const first = toasting.createUpload(`${server.url}/toast/first`, source.path);
  const second = toasting.createUpload(`${server.url}/toast/second`, source.path);
  const secondDone = startWatched(second).done;
  await first.startAsync();
  await server.waitForRequest((request) => request.url === '/toast/second' && request.complete, 10_000);
  await sleep(300);
  assert.equal(notifications.notifications.length, before, 'nothing is shown while one upload still runs');

  releaseSecond();
  await secondDone;
  await waitFor('the success notification', () => notifications.notifications.length > before, 5_000);
  await sleep(500);
  const shown = notifications.notifications.slice(before);
  assert.deepEqual(
    shown.map((notification) => [notification.appName, notification.summary, notification.body]),
    [['bgtransfer', 'bgtransfer', 'all done']],
  );
});

test('R74: the failure notification is shown once when one of the uploads gets a 500; no success notification', async () => {
  await networkManager.set({ ...ONLINE_UNMETERED });
  await useHome('toast-failure', { maxAttempts: 1 });
  const before = notifications.notifications.length;
  server.route('/toast/broken', () => ({ status: 500, body: 'broken' }));
  const toasting = uploader();
  toasting.successToastNotification = 'all done';
  toasting.failureToastNotification = { summary: 'Uploads', body: 'at least one upload failed' };
  const good = toasting.createUpload(`${server.url}/toast/good`, source.path);
  const broken = toasting.createUpload(`${server.url}/toast/broken`, source.path);
  const goodDone = startWatched(good).done;
  await assert.rejects(Promise.resolve(broken.startAsync()), { code: 'BT_ERR_HTTP_STATUS' });
  await goodDone;
  await waitFor('the failure notification', () => notifications.notifications.length > before, 5_000);
  await sleep(500);
  const shown = notifications.notifications.slice(before);
  assert.deepEqual(
    shown.map((notification) => [notification.summary, notification.body]),
    [['Uploads', 'at least one upload failed']],
  );
  assert.ok(await hostStatus(process.env.BGTRANSFER_HOME ?? '', { appId: APP_ID }));
});

test('R74: the failure notification is shown once even when the host restarts before the last upload ends', async () => {
  await networkManager.set({ ...ONLINE_UNMETERED });
  const home = await useHome('toast-restart', { maxAttempts: 1 });
  const before = notifications.notifications.length;
  server.route('/restart/broken', () => ({ status: 500, body: 'broken' }));
  let releaseHeld: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    releaseHeld = resolve;
  });
  server.route('/restart/held', async (request) => {
    if (request.method === 'PUT') await held;
    return { status: 201, body: 'stored' };
  });
  const toasting = uploader();
  toasting.failureToastNotification = 'restart: at least one upload failed';
  const slow = toasting.createUpload(`${server.url}/restart/held`, source.path);
  const broken = toasting.createUpload(`${server.url}/restart/broken`, source.path);
  const slowDone = startWatched(slow).done;
  await server.waitForRequest((request) => request.url === '/restart/held' && request.complete, 10_000);
  await assert.rejects(Promise.resolve(broken.startAsync()), { code: 'BT_ERR_HTTP_STATUS' });
  await waitFor('the failure notification', () => notifications.notifications.length > before, 5_000);

  // A new host takes over the running upload (a PUT restarts, R12), which then completes.
  assert.equal(await stopHost(home), true);
  releaseHeld();
  const starter = new SocketPort(home, { env: { ...process.env, BGTRANSFER_LOG_LEVEL: 'info' } });
  await starter.status(APP_ID);
  await starter.close();
  await slowDone;
  assert.equal(slow.progress.status, BackgroundTransferStatus.completed);
  await sleep(700);
  const shown = notifications.notifications.slice(before).map((notification) => notification.body);
  assert.deepEqual(shown, ['restart: at least one upload failed'], 'one failure notification for the uploader');
});
