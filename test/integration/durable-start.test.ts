import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BackgroundTransferStatus } from '../../src/core/enums.ts';
import { BackgroundUploader, StorageFile } from '../../src/index.ts';
import { stopHost } from '../../src/ipc/host-control.ts';
import { SocketPort } from '../../src/ipc/socket-port.ts';
import { useApiHome } from '../helpers/api-home.ts';
import { type NodeChild, spawnNode } from '../helpers/process-tools.ts';
import { makeTempDir, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

/**
 * A durable start: an app that calls startAsync() and lets its event loop end, or awaits `queued` and
 * then calls process.exit(), does not lose the upload — with the host and in-process. Real processes:
 * the app runs as a child, and the test finds the upload afterwards through a host of its own.
 */

const API_URL = pathToFileURL(fileURLToPath(new URL('../../src/index.ts', import.meta.url))).href;
const APP_ID = 'durable-start-app';

let temp: TempDir;
let server: UploadServer;
const homes: string[] = [];
const apps: NodeChild[] = [];

before(async () => {
  temp = await makeTempDir('bt-durable-start-');
  server = await startUploadServer();
  server.route('/put', () => ({ status: 201, body: 'stored' }));
  writeFileSync(
    join(temp.path, 'start-and-return.mts'),
    `import { BackgroundUploader, StorageFile } from '${API_URL}';
     const [path, url] = process.argv.slice(2);
     const uploader = new BackgroundUploader();
     uploader.method = 'PUT';
     const op = uploader.createUpload(url, await StorageFile.getFileFromPathAsync(path));
     console.log('GUID ' + op.guid);
     op.startAsync();
     // Nothing awaited: the script ends here and Node exits when its event loop is empty.`,
  );
  writeFileSync(
    join(temp.path, 'queued-then-exit.mts'),
    `import { BackgroundUploader, StorageFile } from '${API_URL}';
     const [path, url] = process.argv.slice(2);
     const uploader = new BackgroundUploader();
     uploader.method = 'PUT';
     const op = uploader.createUpload(url, await StorageFile.getFileFromPathAsync(path));
     console.log('GUID ' + op.guid);
     await op.startAsync().queued;
     process.exit(0);`,
  );
});

after(async () => {
  // Hosts first, while the apps that spawned them are alive to reap them (PID 1 here does not).
  for (const home of homes) await stopHost(home).catch(() => false);
  for (const app of apps) app.kill('SIGTERM');
  await Promise.all(apps.map((app) => app.exited));
  await server.close();
  await temp.cleanup();
});

async function runApp(script: string, home: string, host: 'auto' | 'inproc', url: string): Promise<string> {
  const file = await writeRandomFile(temp.path, `${script}-${host}.bin`, 256 * 1024);
  const app = spawnNode([join(temp.path, `${script}.mts`), file.path, url], {
    env: { BGTRANSFER_HOME: home, BGTRANSFER_HOST: host, BGTRANSFER_APP_ID: APP_ID },
  });
  apps.push(app);
  const line = await app.waitForLine(/^GUID /, 30_000);
  const exit = await app.exited;
  assert.equal(exit.code, 0, `the app exits normally\n${app.stderrLines.join('\n')}`);
  return line.slice('GUID '.length);
}

/** The test's own client of the home's host (started if none runs): the upload must be there and complete. */
async function assertStoredAndCompletes(home: string, guid: string): Promise<void> {
  const port = new SocketPort(home);
  try {
    const found = await port.call('get', APP_ID, { guid });
    assert.equal(found.guid, guid);
    const done = await waitForStatus(port, guid, BackgroundTransferStatus.completed);
    assert.equal(done.response?.statusCode, 201);
  } finally {
    await port.close();
  }
}

async function waitForStatus(port: SocketPort, guid: string, status: BackgroundTransferStatus) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const snapshot = await port.call('get', APP_ID, { guid });
    if (snapshot.progress.status === status) return snapshot;
    if (Date.now() > deadline) throw new Error(`upload ${guid} is ${snapshot.progress.status}, not ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

for (const host of ['auto', 'inproc'] as const) {
  test(`${host}: an app that calls startAsync() and returns does not exit before the upload is stored`, async () => {
    const home = join(temp.path, `return-${host}`);
    homes.push(home);
    const guid = await runApp('start-and-return', home, host, `${server.url}/put`);
    await assertStoredAndCompletes(home, guid);
  });

  test(`${host}: awaiting queued and then process.exit(0) keeps the upload`, async () => {
    const home = join(temp.path, `exit-${host}`);
    homes.push(home);
    const guid = await runApp('queued-then-exit', home, host, `${server.url}/put`);
    await assertStoredAndCompletes(home, guid);
  });
}

test('queued rejects with the coded error when nothing was stored, and resolves at once for attachAsync', async () => {
  const home = await useApiHome({ maxOperationsPerApp: 1 }, 'durable-start-limit');
  try {
    server.route('/hang', () => ({ hang: true }));
    const file = await writeRandomFile(temp.path, 'limit.bin', 1024);
    const uploader = new BackgroundUploader();
    uploader.method = 'PUT';
    const first = uploader.createUpload(`${server.url}/hang`, await StorageFile.getFileFromPathAsync(file.path));
    const second = uploader.createUpload(`${server.url}/hang`, await StorageFile.getFileFromPathAsync(file.path));
    const firstStart = first.startAsync();
    assert.equal(await firstStart.queued, first);
    await assert.rejects(second.startAsync().queued, { code: 'BT_ERR_LIMIT_EXCEEDED' });
    assert.equal(await first.attachAsync().queued, first);
    firstStart.cancel();
    await assert.rejects(firstStart, { code: 'BT_ERR_CANCELED' });
  } finally {
    await home.cleanup();
  }
});
