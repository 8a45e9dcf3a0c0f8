import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BackgroundDownloader,
  BackgroundTransferStatus,
  type DownloadOperation,
  WebErrorStatus,
} from '../../src/index.ts';
import { type ApiHome, useApiHome } from '../helpers/api-home.ts';
import { type DownloadServer, forbidUrls, startDownloadServer } from '../helpers/download-server.ts';

/** DownloadOperation.getResultStreamAt while the download runs, and requestedUri replaced mid-way. */
const MIB = 1024 * 1024;
let home: ApiHome | undefined;
let server: DownloadServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
  await home?.cleanup();
  home = undefined;
});

async function readStream(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

test('getResultStreamAt reads what arrived and waits for bytes beyond it, then the completed file', async () => {
  home = await useApiHome({}, 'download-random-access');
  const body = randomBytes(4 * MIB + 11);
  server = await startDownloadServer();
  await server.serve('/file', body, { throttleBytesPerSecond: 2 * MIB });
  const downloader = new BackgroundDownloader();
  const download = downloader.createDownload(`${server.url}/file`, join(home.dir, 'random.bin'));
  download.isRandomAccessRequired = true;
  assert.equal(download.isRandomAccessRequired, true);
  const done = download.startAsync();
  await done.queued;
  const position = 3 * MIB;
  assert.ok(download.progress.bytesReceived < position, 'the reader starts ahead of the download');
  const tail = readStream(download.getResultStreamAt(position)).then((bytes) => ({
    bytes,
    statusWhenRead: download.progress.status,
    receivedWhenRead: download.progress.bytesReceived,
  }));
  const head = await readStream(download.getResultStreamAt(0));
  await done;
  const read = await tail;
  assert.ok(read.bytes.equals(body.subarray(position)), 'the bytes from the position, all of them');
  assert.ok(head.equals(body), 'a reader from 0 gets the whole body');
  assert.equal(download.progress.status, BackgroundTransferStatus.completed);
});

test('requestedUri is writable: after a pause, the next request goes to the new URI', async () => {
  home = await useApiHome({}, 'download-new-uri');
  const body = randomBytes(3 * MIB);
  server = await startDownloadServer();
  // One representation under every path: the new URI continues the same file.
  await server.serve('*', body, { throttleBytesPerSecond: 2 * MIB });
  const download = new BackgroundDownloader().createDownload(`${server.url}/old?sig=1`, join(home.dir, 'moved.bin'));
  const done = download.startAsync();
  for (let waited = 0; download.progress.bytesReceived < MIB / 2; waited += 50) {
    assert.ok(waited < 30_000, 'the download got going');
    await sleep(50);
  }
  await download.pause();
  download.requestedUri = `${server.url}/new?sig=2`;
  server.setOptions('*', {});
  await download.resume();
  const finished: DownloadOperation = await done;
  assert.equal(finished.requestedUri.absoluteUri, `${server.url}/new?sig=2`);
  const paths = server.requests.map((request) => request.url);
  assert.equal(paths[0], '/old?sig=1');
  assert.equal(paths.at(-1), '/new?sig=2');
  assert.equal(server.requests.at(-1)?.status, 206, 'the new URI continued the same file');
});

test('a listed recoverable status (403) pauses the download; a fresh URI and resume() complete it', async () => {
  home = await useApiHome({ retryBaseDelayMs: 50 }, 'download-recoverable');
  const body = randomBytes(2 * MIB);
  server = await startDownloadServer();
  await server.serve('/file', body, { intercept: forbidUrls('/file?sig=expired') });
  const download = new BackgroundDownloader().createDownload(
    `${server.url}/file?sig=expired`,
    join(home.dir, 'recovered.bin'),
  );
  download.recoverableWebErrorStatuses.push(WebErrorStatus.forbidden);
  const done = download.startAsync();
  await done.queued;
  for (let waited = 0; ; waited += 50) {
    const [current] = await BackgroundDownloader.getCurrentDownloadsAsync();
    if (current?.progress.status === BackgroundTransferStatus.pausedRecoverableWebErrorStatus) {
      assert.equal(current.currentWebErrorStatus, WebErrorStatus.forbidden);
      break;
    }
    assert.ok(waited < 30_000, `paused on the 403; status ${current?.progress.status}`);
    await sleep(50);
  }
  assert.equal(server.requests.length, 1, 'not retried while it waits for the app');
  download.requestedUri = `${server.url}/file?sig=fresh`;
  await download.resume();
  await done;
  assert.equal(download.progress.status, BackgroundTransferStatus.completed);
  assert.equal(server.requests.at(-1)?.url, '/file?sig=fresh');
});
