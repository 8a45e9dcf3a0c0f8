import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BackgroundDownloader,
  BackgroundTransferStatus,
  closeAsync,
  type DownloadOperation,
  WebErrorStatus,
} from '../../src/index.ts';
import { stopHost } from '../../src/ipc/host-control.ts';
import { type ApiHome, useApiHome } from '../helpers/api-home.ts';
import { type DownloadServer, forbidUrls, startDownloadServer } from '../helpers/download-server.ts';

/**
 * What a download's app chooses and the engine must honour: its own digest of the body, the choices an
 * enumerated operation reports, and recoverable statuses listed after startAsync().
 */
const MIB = 1024 * 1024;
let home: ApiHome | undefined;
let server: DownloadServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
  if (home) {
    await stopHost(home.home).catch(() => false);
    await closeAsync();
    await home.cleanup();
  }
  home = undefined;
});

/** 'auto': through a real transfer host process, so the choices cross the socket's schemas too. */
async function useHome(config: Record<string, unknown>, appId: string, mode: 'inproc' | 'auto'): Promise<ApiHome> {
  const created = await useApiHome(config, `${appId}-${mode}`);
  process.env.BGTRANSFER_HOST = mode;
  return created;
}

function digestOf(algorithm: 'sha256' | 'sha512', data: Buffer): string {
  return `${algorithm === 'sha256' ? 'sha-256' : 'sha-512'}=:${createHash(algorithm).update(data).digest('base64')}:`;
}

async function waitForStatus(download: DownloadOperation, status: BackgroundTransferStatus): Promise<void> {
  for (let waited = 0; ; waited += 50) {
    const [current] = await BackgroundDownloader.getCurrentDownloadsAsync();
    if (current?.guid === download.guid && current.progress.status === status) return;
    assert.ok(waited < 30_000, `status ${status}; it is ${current?.progress.status}`);
    await sleep(50);
  }
}

test('expectedContentDigest: a matching sha-256 or sha-512 completes; a bad form is BT_ERR_INVALID_ARGUMENT', async () => {
  home = await useApiHome({ retryBaseDelayMs: 50 }, 'download-app-digest-ok');
  const body = randomBytes(MIB + 5);
  server = await startDownloadServer();
  await server.serve('/file', body, { digests: [{ header: 'Repr-Digest', algorithm: 'sha-256' }] });
  const downloader = new BackgroundDownloader();
  for (const algorithm of ['sha256', 'sha512'] as const) {
    const download = downloader.createDownload(`${server.url}/file`, join(home.dir, `${algorithm}.bin`));
    assert.equal(download.expectedContentDigest, null);
    download.expectedContentDigest = digestOf(algorithm, body);
    assert.equal(download.expectedContentDigest, digestOf(algorithm, body));
    await download.startAsync();
    assert.ok((await readFile(join(home.dir, `${algorithm}.bin`))).equals(body));
  }
  const download = downloader.createDownload(`${server.url}/file`, join(home.dir, 'bad-form.bin'));
  for (const bad of ['sha-256=:abc:', 'md5=:1B2M2Y8AsgTpgAmY7PhCfg==:', 'sha-256=abc', '', 42]) {
    assert.throws(
      () => {
        download.expectedContentDigest = bad as string;
      },
      (error: { code?: string }) => error.code === 'BT_ERR_INVALID_ARGUMENT',
      `refused: ${String(bad)}`,
    );
  }
});

test('expectedContentDigest that does not match a fresh whole fetch: BT_ERR_DIGEST_MISMATCH at once, partial discarded, result file untouched', async () => {
  // Attempts to spare: a retry would fetch the same bytes again, so the first mismatch must be final.
  home = await useApiHome({ retryBaseDelayMs: 50, maxAttempts: 5 }, 'download-app-digest-bad');
  const body = randomBytes(MIB + 5);
  // The server vouches for its body: only the app's digest can tell it is not the one wanted.
  server = await startDownloadServer();
  await server.serve('/file', body, { digests: [{ header: 'Repr-Digest', algorithm: 'sha-256' }] });
  const resultPath = join(home.dir, 'kept.bin');
  await writeFile(resultPath, 'the file the app had before');
  const download = new BackgroundDownloader().createDownload(`${server.url}/file`, resultPath);
  download.expectedContentDigest = digestOf('sha256', Buffer.from('another body'));
  await assert.rejects(download.startAsync(), (error: { code?: string; message?: string }) => {
    assert.equal(error.code, 'BT_ERR_DIGEST_MISMATCH');
    assert.match(error.message ?? '', /sha-256/);
    return true;
  });
  assert.equal(await readFile(resultPath, 'utf8'), 'the file the app had before');
  assert.equal(server.requests.length, 1, 'the body was fetched once, not again for each attempt left');
  for (let waited = 0; ; waited += 50) {
    const partials = (await readdir(home.dir)).filter((name) => name !== 'kept.bin' && name.includes('kept'));
    if (partials.length === 0) break;
    assert.ok(waited < 5_000, `the partial file was removed: ${partials.join(', ')}`);
    await sleep(50);
  }
  assert.equal(existsSync(resultPath), true);
});

for (const mode of ['inproc', 'auto'] as const) {
  test(`${mode}: an enumerated download reports isRandomAccessRequired, its statuses and digest, and reads mid-way`, async () => {
    home = await useHome({}, 'download-app-enumerated', mode);
    const body = randomBytes(3 * MIB + 1);
    server = await startDownloadServer();
    await server.serve('/file', body, { throttleBytesPerSecond: 2 * MIB });
    const download = new BackgroundDownloader().createDownload(`${server.url}/file`, join(home.dir, 'seen.bin'));
    download.isRandomAccessRequired = true;
    download.recoverableWebErrorStatuses.push(WebErrorStatus.forbidden);
    download.expectedContentDigest = digestOf('sha256', body);
    const done = download.startAsync();
    await done.queued;
    const [found] = await BackgroundDownloader.getCurrentDownloadsAsync();
    assert.ok(found, 'the download is enumerated');
    assert.notEqual(found, download);
    assert.equal(found.isRandomAccessRequired, true);
    assert.deepEqual([...found.recoverableWebErrorStatuses], [WebErrorStatus.forbidden]);
    assert.equal(found.expectedContentDigest, digestOf('sha256', body));
    const chunks: Buffer[] = [];
    for await (const chunk of found.getResultStreamAt(2 * MIB)) chunks.push(Buffer.from(chunk as Uint8Array));
    assert.ok(Buffer.concat(chunks).equals(body.subarray(2 * MIB)));
    await done;
  });

  test(`${mode}: a recoverable status listed after startAsync() reaches the engine: the 403 pauses the download`, async () => {
    home = await useHome({ retryBaseDelayMs: 50 }, 'download-app-late-status', mode);
    const body = randomBytes(3 * MIB);
    server = await startDownloadServer();
    const intercept = forbidUrls('/file?sig=expired');
    await server.serve('/file', body, { throttleBytesPerSecond: 2 * MIB, intercept });
    const download = new BackgroundDownloader().createDownload(`${server.url}/file?sig=ok`, join(home.dir, 'late.bin'));
    const done = download.startAsync();
    done.catch(() => undefined);
    await done.queued;
    download.recoverableWebErrorStatuses.push(WebErrorStatus.forbidden);
    await download.pause();
    download.requestedUri = `${server.url}/file?sig=expired`;
    await download.resume();
    await waitForStatus(download, BackgroundTransferStatus.pausedRecoverableWebErrorStatus);
    const [found] = await BackgroundDownloader.getCurrentDownloadsAsync();
    assert.equal(found?.currentWebErrorStatus, WebErrorStatus.forbidden);
    assert.deepEqual([...(found?.recoverableWebErrorStatuses ?? [])], [WebErrorStatus.forbidden]);
    server.setOptions('/file', {});
    download.requestedUri = `${server.url}/file?sig=fresh`;
    await download.resume();
    await done;
    assert.ok((await readFile(join(home.dir, 'late.bin'))).equals(body));
  });
}

test('a value that is no WebErrorStatus is refused where the app writes it', async () => {
  home = await useApiHome({}, 'download-app-bad-status');
  const download = new BackgroundDownloader().createDownload('http://127.0.0.1:9/file', join(home.dir, 'x.bin'));
  assert.throws(
    () => download.recoverableWebErrorStatuses.push(-1 as WebErrorStatus),
    (error: { code?: string }) => error.code === 'BT_ERR_INVALID_ARGUMENT',
  );
  assert.deepEqual([...download.recoverableWebErrorStatuses], []);
});
