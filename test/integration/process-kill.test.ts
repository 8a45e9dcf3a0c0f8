import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BackgroundTransferStatus, BackgroundUploader, type UploadOperation } from '../../src/index.ts';
import { type ApiHome, useApiHome } from '../helpers/api-home.ts';
import { spawnNode } from '../helpers/process-tools.ts';
import { makeTempDir, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

/**
 * A process that dies mid-upload (SIGKILL: no chance to clean up) and a new one that starts
 * again finds its operations with getCurrentUploadsAsync(), same guids; PUT restarts from byte 0 with
 * hasRestarted (R12, R38), POST ends as terminated (R12, R13).
 */
const APP = fileURLToPath(new URL('../scripts/start-upload.ts', import.meta.url));
let server: UploadServer;
let files: TempDir;
let home: ApiHome | undefined;

before(async () => {
  // Slow enough that the upload is surely mid-flight when the process is killed.
  server = await startUploadServer({ throttleBytesPerSecond: 4 * 1024 * 1024 });
  files = await makeTempDir('kill-');
});
afterEach(async () => {
  await home?.cleanup();
  home = undefined;
});
after(async () => {
  await server.close();
  await files.cleanup();
});

async function startAndKill(method: string, path: string, size: number): Promise<{ guid: string; sha256: string }> {
  const source = await writeRandomFile(files.path, `${method}.bin`, size);
  const child = spawnNode([APP, method, `${server.url}${path}`, source.path], {
    env: {
      BGTRANSFER_HOME: process.env.BGTRANSFER_HOME,
      BGTRANSFER_HOST: 'inproc',
      BGTRANSFER_APP_ID: process.env.BGTRANSFER_APP_ID,
    },
  });
  const started = await child.waitForLine(/^started /, 15_000);
  await server.waitForRequest((r) => r.url === path && r.method === method && r.bodyBytes > 1024 * 1024, 15_000);
  child.kill('SIGKILL');
  const exit = await child.exited;
  assert.equal(exit.signal, 'SIGKILL');
  return { guid: started.split(' ')[1] ?? '', sha256: source.sha256 };
}

test('PUT: after SIGKILL the next process finds the upload by guid and it restarts from byte 0 (R12, R38)', async () => {
  home = await useApiHome({}, 'kill-app');
  const { guid, sha256 } = await startAndKill('PUT', '/put-after-kill', 16 * 1024 * 1024);
  const uploads = await BackgroundUploader.getCurrentUploadsAsync();
  assert.deepEqual(
    uploads.map((op) => op.guid),
    [guid],
  );
  const operation = uploads[0];
  assert.ok(operation);
  let restartedReports = 0;
  await operation.attachAsync().then(undefined, undefined, (op: UploadOperation) => {
    if (op.progress.hasRestarted) restartedReports += 1;
  });
  assert.equal(operation.progress.status, BackgroundTransferStatus.completed);
  assert.equal(restartedReports, 1, 'hasRestarted in exactly one notification (R38)');
  // Loopback socket buffers can hold the rest of the killed process's body, so its request may still
  // end at the server; what matters is that the new process sent the whole body again, byte-exact.
  const puts = server.requests.filter((r) => r.url === '/put-after-kill' && r.method === 'PUT');
  assert.equal(puts.length, 2, 'the killed request and one restart');
  assert.equal(puts[1]?.complete, true);
  assert.equal(puts[1]?.sha256, sha256);
});

test('POST: after SIGKILL the upload is found and terminated, not restarted (R12, R13)', async () => {
  home = await useApiHome({}, 'kill-app');
  const { guid } = await startAndKill('POST', '/post-after-kill', 16 * 1024 * 1024);
  const [operation] = await BackgroundUploader.getCurrentUploadsAsync();
  assert.equal(operation?.guid, guid);
  assert.equal(operation?.progress.status, BackgroundTransferStatus.error);
  await assert.rejects(operation!.attachAsync(), { code: 'BT_ERR_POST_TERMINATED' });
  // Terminated, not restarted: the new process sent no second POST.
  assert.equal(server.requests.filter((r) => r.url === '/post-after-kill' && r.method === 'POST').length, 1);
});
