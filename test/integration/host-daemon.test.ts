import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  BackgroundTransferCostPolicy,
  BackgroundTransferPriority,
  BackgroundTransferStatus,
} from '../../src/core/enums.ts';
import { DEFAULT_REQUEST_EXTRAS } from '../../src/core/operation-extras.ts';
import { isProcessRunning } from '../../src/core/process.ts';
import type { OperationSpec } from '../../src/core/snapshot.ts';
import { hostStatus, stopHost } from '../../src/ipc/host-control.ts';
import { SocketPort } from '../../src/ipc/socket-port.ts';
import { type HttpProxy, startHttpProxy } from '../helpers/http-proxy.ts';
import { type NodeChild, spawnNode } from '../helpers/process-tools.ts';
import { makeTempDir, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { makeTestCertificates } from '../helpers/tls-certs.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

/**
 * The host as a daemon: it exits when idle (config hostIdleExitMs) but not while an upload runs or
 * waits for a retry, and the library starts a new one on demand. Real host processes on a temp home.
 */

const APP_ID = 'daemon-test';
const IDLE_EXIT_MS = 1_500;

let temp: TempDir;
let server: UploadServer;
const homes: string[] = [];
const apps: NodeChild[] = [];
const closers: Array<() => Promise<void>> = [];

before(async () => {
  temp = await makeTempDir('bt-host-daemon-');
  server = await startUploadServer();
});

after(async () => {
  // Hosts first, while the apps that spawned them are alive to reap them (PID 1 here does not).
  for (const home of homes) await stopHost(home).catch(() => false);
  for (const app of apps) app.kill('SIGTERM');
  await Promise.all(apps.map((app) => app.exited));
  for (const close of closers) await close();
  await server.close();
  await temp.cleanup();
});

function newHome(name: string, config: Record<string, unknown>): string {
  const home = join(temp.path, name);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  writeFileSync(join(home, 'config.json'), JSON.stringify(config));
  homes.push(home);
  return home;
}

function putSpec(url: string, sourcePath: string): OperationSpec {
  return {
    guid: randomUUID(),
    appId: APP_ID,
    method: 'PUT',
    requestedUri: url,
    sourcePath,
    headers: [],
    costPolicy: BackgroundTransferCostPolicy.default,
    priority: BackgroundTransferPriority.default,
    group: null,
    transferGroup: null,
  };
}

async function hostPid(home: string): Promise<number> {
  const port = new SocketPort(home);
  try {
    return (await port.status(APP_ID)).pid;
  } finally {
    await port.close();
  }
}

test('an idle host exits after hostIdleExitMs, not while an upload waits for a retry or runs; the next call starts a new one', async () => {
  const home = newHome('idle', { hostIdleExitMs: IDLE_EXIT_MS, retryBaseDelayMs: 10 });
  const file = await writeRandomFile(temp.path, 'idle.bin', 64 * 1024);
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let attempts = 0;
  // First a 503 with a back-off longer than the idle time, then an answer the test holds.
  server.route('/idle', async () => {
    attempts += 1;
    if (attempts === 1) return { status: 503, headers: [['Retry-After', '5']] };
    await released;
    return { status: 201, body: 'ok' };
  });

  const port = new SocketPort(home);
  const spec = putSpec(`${server.url}/idle`, file.path);
  const firstPid = (await port.status(APP_ID)).pid;
  await port.call('start', APP_ID, { spec });
  await port.close(); // no client connected from here on

  await waitFor('the first attempt', () => attempts >= 1, 20_000);
  // Back-off (5 s) and then a held request (3 s): twice the idle time each, and the host stays.
  await sleep(2 * IDLE_EXIT_MS);
  assert.equal(
    (await hostStatus(home, { appId: APP_ID }))?.pid,
    firstPid,
    'the host stays while an upload waits for its retry',
  );
  await waitFor('the retry', () => attempts >= 2, 20_000);
  await sleep(2 * IDLE_EXIT_MS);
  assert.equal((await hostStatus(home, { appId: APP_ID }))?.pid, firstPid, 'the host stays while an upload runs');

  release();
  await waitFor('the idle host to exit', () => !isProcessRunning(firstPid), 30_000);

  // On demand: the library starts a new host, which has the completed upload.
  const again = new SocketPort(home);
  try {
    const snapshot = await again.call('get', APP_ID, { guid: spec.guid });
    assert.equal(snapshot.progress.status, BackgroundTransferStatus.completed);
    assert.equal(snapshot.response?.statusCode, 201);
    const secondPid = (await again.status(APP_ID)).pid;
    assert.notEqual(secondPid, firstPid);
  } finally {
    await again.close();
  }
});

test('an idle host does not exit while a completion-group task runs', async () => {
  const home = newHome('task', { hostIdleExitMs: IDLE_EXIT_MS });
  const file = await writeRandomFile(temp.path, 'task.bin', 1024);
  server.route('/task', () => ({ status: 201 }));
  const taskLog = join(home, 'tasks', 'idle-group.log');
  const port = new SocketPort(home);
  const pid = (await port.status(APP_ID)).pid;
  const spec = putSpec(`${server.url}/task`, file.path);
  await port.call('start', APP_ID, {
    spec: { ...spec, extras: { ...DEFAULT_REQUEST_EXTRAS, completionGroupId: 'idle-group' } },
  });
  // The task outlives the idle time several times over.
  const task = { command: '/bin/sh', args: ['-c', 'echo started; sleep 6; echo finished'], cwd: null };
  await port.call('enableCompletionGroup', APP_ID, { group: { id: 'idle-group', task } });
  await port.close();

  await waitFor(
    'the task to start',
    () => existsSync(taskLog) && readFileSync(taskLog, 'utf8').includes('started'),
    30_000,
  );
  await sleep(3 * IDLE_EXIT_MS);
  // Still serving, not merely alive (a stopping host waits for its tasks too).
  assert.equal((await hostStatus(home, { appId: APP_ID }))?.pid, pid, 'the host stays while the task runs');
  assert.ok(!readFileSync(taskLog, 'utf8').includes('finished'), 'the task still runs');
  await waitFor('the idle host to exit after the task', () => !isProcessRunning(pid), 30_000);
  assert.ok(readFileSync(taskLog, 'utf8').includes('finished'), 'the task ran to its end');
});

test('hostIdleExitMs 0: the host never exits for idleness', async () => {
  const home = newHome('never', { hostIdleExitMs: 0 });
  const pid = await hostPid(home);
  await sleep(3 * IDLE_EXIT_MS);
  assert.ok(isProcessRunning(pid));
  assert.equal(await hostPid(home), pid);
});

const API_URL = pathToFileURL(fileURLToPath(new URL('../../src/index.ts', import.meta.url))).href;

test("the host starts with a clean environment; each app's uploads go through the proxy that app had (HTTPS_PROXY)", async () => {
  const certificates = await makeTestCertificates();
  const caPath = join(temp.path, 'ca.pem');
  writeFileSync(caPath, certificates.caCert);
  const home = newHome('env', { extraCaCertificates: [caPath] });
  const secure = await startUploadServer({ tls: certificates.valid });
  const proxies: HttpProxy[] = [await startHttpProxy(), await startHttpProxy()];
  closers.push(() => secure.close(), ...proxies.map((proxy) => () => proxy.close()));
  secure.route('/secure', () => ({ status: 201, body: 'ok' }));
  const file = await writeRandomFile(temp.path, 'env.bin', 32 * 1024);
  const script = join(temp.path, 'upload-and-wait.mts');
  writeFileSync(
    script,
    `import { BackgroundUploader, StorageFile } from '${API_URL}';
     const [path, url] = process.argv.slice(2);
     const uploader = new BackgroundUploader();
     uploader.method = 'PUT';
     const op = uploader.createUpload(url, await StorageFile.getFileFromPathAsync(path));
     await op.startAsync();
     console.log('DONE ' + JSON.stringify({ statusCode: op.getResponseInformation()?.statusCode }));
     // Stay until the test has stopped the host this process may have started, so that it is reaped.
     setInterval(() => undefined, 1_000);`,
  );

  const seen: number[] = [];
  for (const [index, proxy] of proxies.entries()) {
    const app = spawnNode([script, file.path, `${secure.url}/secure`], {
      env: {
        BGTRANSFER_HOME: home,
        BGTRANSFER_HOST: 'auto',
        BGTRANSFER_APP_ID: `env-app-${index}`,
        SECRET_TOKEN: 'do-not-inherit',
        HTTPS_PROXY: proxy.url,
        NO_PROXY: 'example.invalid',
      },
    });
    apps.push(app);
    const done = JSON.parse((await app.waitForLine(/^DONE /, 60_000)).slice('DONE '.length)) as { statusCode: number };
    assert.equal(done.statusCode, 201);
    // Every request of the upload (the resumable-protocol probe, the PUT) through this app's proxy only.
    assert.ok(proxy.requests.length > 0, `app ${index}'s upload went through its own proxy`);
    for (const request of proxy.requests) {
      assert.deepEqual([request.kind, request.target], ['connect', `127.0.0.1:${secure.port}`]);
    }
    if (index === 0) assert.equal(proxies[1]?.requests.length, 0, "not through the other app's proxy");
    seen.push(proxy.requests.length);
  }

  assert.equal(proxies[0]?.requests.length, seen[0], 'the second app added nothing to the first proxy');
  const environ = readFileSync(`/proc/${await hostPid(home)}/environ`, 'utf8').split('\0');
  const names = environ.map((entry) => entry.slice(0, entry.indexOf('=')));
  assert.ok(!names.includes('SECRET_TOKEN'), "the app's SECRET_TOKEN is not in the host's environment");
  for (const name of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'NO_PROXY']) assert.ok(!names.includes(name), name);
  assert.ok(environ.includes(`BGTRANSFER_HOME=${home}`));
  assert.ok(names.includes('PATH') && names.includes('HOME'));
});

test('a running host rotates host.log once it would grow past logMaxBytes', async () => {
  const home = newHome('log', { logMaxBytes: 1024 });
  const pid = await hostPid(home);
  // Each client logs "client connected" and "client disconnected" (about 120 bytes each).
  for (let index = 0; index < 15; index += 1) assert.equal(await hostPid(home), pid);
  await waitFor('host.log.1', () => existsSync(join(home, 'host.log.1')), 10_000);
  for (const name of ['host.log', 'host.log.1']) {
    const text = readFileSync(join(home, name), 'utf8');
    assert.ok(Buffer.byteLength(text) <= 1024, `${name} is within logMaxBytes`);
    for (const line of text.trim().split('\n')) assert.equal((JSON.parse(line) as { pid: number }).pid, pid);
  }
});
