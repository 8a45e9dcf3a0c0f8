import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BackgroundTransferCostPolicy,
  BackgroundTransferPriority,
  BackgroundTransferStatus,
} from '../../src/core/enums.ts';
import type { OperationSpec } from '../../src/core/snapshot.ts';
import { stopHost } from '../../src/ipc/host-control.ts';
import { isProcessRunning } from '../../src/ipc/host-launcher.ts';
import { SocketPort } from '../../src/ipc/socket-port.ts';
import { makeTempDir, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
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

before(async () => {
  temp = await makeTempDir('bt-host-daemon-');
  server = await startUploadServer();
});

after(async () => {
  for (const home of homes) await stopHost(home).catch(() => false);
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
  await port.start(spec);
  await port.close(); // no client connected from here on

  await waitFor('the first attempt', () => attempts >= 1, 20_000);
  // Back-off (5 s) and then a held request (3 s): twice the idle time each, and the host stays.
  await sleep(2 * IDLE_EXIT_MS);
  assert.ok(isProcessRunning(firstPid), 'the host stays while an upload waits for its retry');
  await waitFor('the retry', () => attempts >= 2, 20_000);
  await sleep(2 * IDLE_EXIT_MS);
  assert.ok(isProcessRunning(firstPid), 'the host stays while an upload runs');

  release();
  await waitFor('the idle host to exit', () => !isProcessRunning(firstPid), 30_000);

  // On demand: the library starts a new host, which has the completed upload.
  const again = new SocketPort(home);
  try {
    const snapshot = await again.get(APP_ID, spec.guid);
    assert.equal(snapshot.progress.status, BackgroundTransferStatus.completed);
    assert.equal(snapshot.response?.statusCode, 201);
    const secondPid = (await again.status(APP_ID)).pid;
    assert.notEqual(secondPid, firstPid);
  } finally {
    await again.close();
  }
});

test('hostIdleExitMs 0: the host never exits for idleness', async () => {
  const home = newHome('never', { hostIdleExitMs: 0 });
  const pid = await hostPid(home);
  await sleep(3 * IDLE_EXIT_MS);
  assert.ok(isProcessRunning(pid));
  assert.equal(await hostPid(home), pid);
});
