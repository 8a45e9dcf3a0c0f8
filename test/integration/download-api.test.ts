import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BackgroundDownloader,
  BackgroundTransferStatus,
  BackgroundUploader,
  closeAsync,
  type DownloadOperation,
} from '../../src/index.ts';
import { hostStatus, stopHost } from '../../src/ipc/host-control.ts';
import { type ApiHome, useApiHome } from '../helpers/api-home.ts';
import { startDownloadServer } from '../helpers/download-server.ts';
import { type NginxServer, startNginx } from '../helpers/nginx.ts';
import { fileSizeIfPresent, makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';

/** Downloads through the public API and a real transfer host (BGTRANSFER_HOST=auto). */
const MIB = 1024 * 1024;
let nginx: NginxServer;
let files: TempDir;
let served: RandomFile;
let home: ApiHome | undefined;

before(async () => {
  nginx = await startNginx();
  files = await makeTempDir('download-api-');
  served = await writeRandomFile(files.path, 'served.bin', 6 * MIB + 7);
  await copyFile(served.path, join(nginx.root, 'served.bin'));
});
afterEach(async () => {
  if (home) {
    await stopHost(home.home).catch(() => false);
    await closeAsync();
    await home.cleanup();
  }
  home = undefined;
});
after(async () => {
  await nginx.stop();
  await files.cleanup();
});

async function useHost(appId: string): Promise<ApiHome> {
  const created = await useApiHome({ retryBaseDelayMs: 50 }, appId);
  process.env.BGTRANSFER_HOST = 'auto';
  return created;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

test('a GET through the host lands byte-exact in the result file; enumerations keep uploads and downloads apart', async () => {
  home = await useHost('download-api-get');
  const out = await makeTempDir('download-api-out-');
  try {
    const resultPath = join(out.path, 'result.bin');
    const download = new BackgroundDownloader().createDownload(`${nginx.davUrl}served.bin`, resultPath);
    assert.equal(download.method, 'GET');
    assert.equal(download.resultFile.path, resultPath);
    const reports: number[] = [];
    const done = await download.startAsync().then(undefined, undefined, (op: DownloadOperation) => {
      reports.push(op.progress.bytesReceived);
    });
    assert.equal(done, download);
    assert.equal(download.progress.status, BackgroundTransferStatus.completed);
    assert.equal(download.progress.bytesReceived, served.size);
    assert.equal(download.progress.totalBytesToReceive, served.size);
    assert.equal(download.getResponseInformation()?.statusCode, 200);
    assert.equal(sha256(await readFile(resultPath)), served.sha256);
    assert.ok(
      reports.every((value, index) => index === 0 || value >= (reports[index - 1] ?? 0)),
      'progress never goes back',
    );
    assert.deepEqual((await readdir(out.path)).sort(), ['result.bin'], 'no partial file is left');
    const downloads = await BackgroundDownloader.getCurrentDownloadsAsync();
    assert.deepEqual(
      downloads.map((op) => op.guid),
      [download.guid],
    );
    assert.equal(downloads[0]?.resultFile.path, resultPath);
    assert.deepEqual((await BackgroundUploader.getCurrentUploadsAsync()).length, 0, 'not an upload');
  } finally {
    await out.cleanup();
  }
});

test('host SIGKILLed mid-download: the next host resumes from the fsynced partial file, byte-exact, never a partial result', async () => {
  home = await useHost('download-api-kill');
  const body = randomBytes(8 * MIB);
  const server = await startDownloadServer();
  await server.serve('/file', body, { throttleBytesPerSecond: 2 * MIB });
  const out = await makeTempDir('download-api-kill-');
  try {
    const resultPath = join(out.path, 'killed.bin');
    const download = new BackgroundDownloader().createDownload(`${server.url}/file`, resultPath);
    let restartedReports = 0;
    // Progress reaches the app after the host acted on it: a report still saying "running" can arrive
    // after the partial file was renamed onto the result. What must never be seen is a result file with
    // fewer bytes than the whole body.
    let partialResultSeen = false;
    const done = Promise.resolve(
      download.startAsync().then(undefined, undefined, (op: DownloadOperation) => {
        if (op.progress.hasRestarted) restartedReports += 1;
        const size = fileSizeIfPresent(resultPath);
        if (size !== undefined && size !== body.length) partialResultSeen = true;
      }),
    );
    for (let waited = 0; download.progress.bytesReceived < 2 * MIB; waited += 50) {
      assert.ok(waited < 60_000, 'the download got going');
      await sleep(50);
    }
    const status = await hostStatus(home.home);
    assert.ok(status, 'a host runs');
    process.kill(status.pid, 'SIGKILL');
    const finished = await done;
    assert.equal(finished.progress.status, BackgroundTransferStatus.completed);
    assert.equal(sha256(await readFile(resultPath)), sha256(body));
    assert.equal(partialResultSeen, false, 'the result file never held a partial body');
    assert.equal(restartedReports, 0, 'resumed, not restarted');
    const resumed = server.requests.slice(1);
    const ranged = resumed.find((request) => request.range !== undefined);
    assert.ok(ranged, `a later request asked for a range: ${JSON.stringify(server.requests)}`);
    assert.equal(ranged.status, 206);
    assert.match(ranged.ifRange ?? '', /^"v1-/, 'If-Range carries the strong ETag');
    const start = Number(/bytes=(\d+)-/.exec(ranged.range ?? '')?.[1]);
    assert.ok(start >= MIB, `resumed from byte ${start}`);
    assert.deepEqual((await readdir(out.path)).sort(), ['killed.bin']);
  } finally {
    await server.close();
    await out.cleanup();
  }
});
