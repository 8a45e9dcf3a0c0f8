import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  BackgroundTransferCostPolicy,
  BackgroundTransferPriority,
  BackgroundTransferStatus as S,
} from '../../src/core/enums.ts';
import { BackgroundDownloader, type DownloadOperation } from '../../src/index.ts';
import { downloadSpec, ended, sha256, withApiHost } from '../helpers/download-parity-spec.ts';
import { type DownloadServer, startDownloadServer } from '../helpers/download-server.ts';
import { startEngine } from '../helpers/engine-harness.ts';
import { type SlowServer, startSlowServer } from '../helpers/slow-server.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { waitUntil } from '../helpers/wait-for.ts';

/**
 * A download's priority (R31) and cost policy (R52) changed while it waits, in the queue behind a
 * running transfer or for a network its policy allows, take effect: what the servers on loopback see
 * is the proof. A blocker is a GET the slow server holds until the test releases it.
 */
let server: DownloadServer;
let slow: SlowServer;
let dir: TempDir;
let file: RandomFile;

before(async () => {
  server = await startDownloadServer();
  slow = await startSlowServer();
  dir = await makeTempDir('download-queued-');
  file = await writeRandomFile(dir.path, 'served.bin', 300_000);
});
after(async () => {
  await server.close();
  await slow.close();
  await dir.cleanup();
});

function fetched(path: string): number {
  return server.requests.filter((r) => r.path === path).length;
}

test('R31 through the host: priorities changed while downloads wait behind a running one reorder them', async () => {
  await withApiHost('download-queued-priority', { maxConcurrentTransfers: 1 }, async (home) => {
    const blocker = slow.hold('/dq-prio/blocker');
    const downloader = new BackgroundDownloader();
    const blocking = downloader.createDownload(`${slow.url}/dq-prio/blocker`, join(home.dir, 'blocker.bin'));
    const settled: Array<Promise<unknown>> = [Promise.resolve(blocking.startAsync())];
    await slow.waitForArrival('/dq-prio/blocker');
    const queued = ['1', '2', '3'].map((name) =>
      downloader.createDownload(`${slow.url}/dq-prio/${name}`, join(home.dir, `${name}.bin`)),
    ) as [DownloadOperation, DownloadOperation, DownloadOperation];
    for (const download of queued) {
      const transfer = download.startAsync();
      settled.push(Promise.resolve(transfer));
      await transfer.queued;
    }
    const [first, , third] = queued;
    third.priority = BackgroundTransferPriority.high;
    first.priority = BackgroundTransferPriority.low;
    // The host stored both priorities while the three still waited.
    await waitUntil(async () => {
      const stored = [...(await BackgroundDownloader.getCurrentDownloadsAsync())];
      const of = (guid: string) => stored.find((op) => op.guid === guid);
      return (
        of(third.guid)?.priority === BackgroundTransferPriority.high &&
        of(first.guid)?.priority === BackgroundTransferPriority.low &&
        queued.every((download) => of(download.guid)?.progress.status === S.idle)
      );
    }, 10_000);
    blocker.release();
    await Promise.all(settled);
    assert.deepEqual(slow.arrivals('/dq-prio/'), ['/dq-prio/blocker', '/dq-prio/3', '/dq-prio/2', '/dq-prio/1']);
    for (const download of [blocking, ...queued]) assert.equal(download.progress.status, S.completed);
  });
});

test('R52: unrestrictedOnly set on a download queued behind a running one keeps it off the metered network', async () => {
  await server.serve('/dq-cost-queued.bin', file.path);
  const h = await startEngine({ maxConcurrentTransfers: 1 });
  try {
    h.network.set({ metered: true });
    const blocker = slow.hold('/dq-cost/blocker');
    const blocking = h.engine.start(downloadSpec(h, dir.path, `${slow.url}/dq-cost/blocker`).spec);
    await slow.waitForArrival('/dq-cost/blocker');
    const target = downloadSpec(h, dir.path, `${server.url}/dq-cost-queued.bin`);
    const { guid } = h.engine.start(target.spec);
    assert.equal(h.engine.get(guid)?.progress.status, S.idle, 'it waits in the queue');
    h.engine.update(guid, { costPolicy: BackgroundTransferCostPolicy.unrestrictedOnly });
    blocker.release();
    await h.waitFor(blocking.guid, ended, 30_000);
    await h.waitFor(guid, (s) => s.progress.status === S.pausedCostedNetwork);
    assert.equal(fetched('/dq-cost-queued.bin'), 0, 'nothing was fetched on the metered network');
    h.network.set({ metered: false });
    const done = await h.waitFor(guid, ended, 30_000);
    assert.equal(done.progress.status, S.completed, JSON.stringify(done.error));
    assert.equal(sha256(await readFile(target.resultPath)), file.sha256);
    assert.equal(fetched('/dq-cost-queued.bin'), 1);
  } finally {
    await h.close();
  }
});

test('R52: a download waiting for an unmetered network goes as soon as its cost policy allows the metered one', async () => {
  await server.serve('/dq-cost-waiting.bin', file.path);
  const h = await startEngine();
  try {
    h.network.set({ metered: true });
    const target = downloadSpec(h, dir.path, `${server.url}/dq-cost-waiting.bin`, {
      costPolicy: BackgroundTransferCostPolicy.unrestrictedOnly,
    });
    const { guid } = h.engine.start(target.spec);
    await h.waitFor(guid, (s) => s.progress.status === S.pausedCostedNetwork);
    assert.equal(fetched('/dq-cost-waiting.bin'), 0);
    h.engine.update(guid, { costPolicy: BackgroundTransferCostPolicy.always });
    const done = await h.waitFor(guid, ended, 30_000);
    assert.equal(done.progress.status, S.completed, JSON.stringify(done.error));
    assert.equal(sha256(await readFile(target.resultPath)), file.sha256);
    assert.equal(fetched('/dq-cost-waiting.bin'), 1);
  } finally {
    await h.close();
  }
});

test('R52 on a running download: unrestrictedOnly on a metered network stops it, keeping its bytes; allowed again, it resumes with a range', async () => {
  await server.serve('/dq-cost-running.bin', file.path, { throttleBytesPerSecond: 200_000 });
  const h = await startEngine();
  try {
    h.network.set({ metered: true });
    const target = downloadSpec(h, dir.path, `${server.url}/dq-cost-running.bin`);
    const { guid } = h.engine.start(target.spec);
    // A checkpoint (every 500 ms) made some bytes durable: those are the ones a resume keeps.
    const running = await h.waitFor(guid, (s) => s.progress.status === S.running && s.progress.bytesReceived > 0);
    assert.ok(running.progress.bytesReceived < file.size);
    h.engine.update(guid, { costPolicy: BackgroundTransferCostPolicy.unrestrictedOnly });
    const waiting = await h.waitFor(guid, (s) => s.progress.status === S.pausedCostedNetwork);
    assert.ok(waiting.progress.bytesReceived > 0, 'the fsynced bytes are kept');
    h.engine.update(guid, { costPolicy: BackgroundTransferCostPolicy.always });
    const done = await h.waitFor(guid, ended, 30_000);
    assert.equal(done.progress.status, S.completed, JSON.stringify(done.error));
    assert.equal(sha256(await readFile(target.resultPath)), file.sha256);
    const requests = server.requests.filter((r) => r.path === '/dq-cost-running.bin');
    assert.equal(requests.length, 2);
    assert.equal(requests[1]?.status, 206, 'the second request continued the partial file');
    assert.equal(requests[1]?.range, `bytes=${waiting.progress.bytesReceived}-`);
    // Nothing restarted, so no notification may show fewer bytes than one before it.
    const shown = h.updates.filter((s) => s.guid === guid).map((s) => s.progress.bytesReceived);
    assert.ok(
      shown.every((bytes, index) => index === 0 || bytes >= (shown[index - 1] ?? 0)),
      `progress went back: ${shown.join(' ')}`,
    );
  } finally {
    await h.close();
  }
});
