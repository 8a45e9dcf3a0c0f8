import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BackgroundTransferCostPolicy, BackgroundTransferStatus as S } from '../../src/core/enums.ts';
import { ManualNetwork, startEngine } from '../helpers/engine-harness.ts';
import { makeTempDir, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';

/**
 * At the engine: no-network waiting (R50), cost policy (R52–R54) and pause/resume,
 * against a real loopback server. The network state is set by hand here; the D-Bus path that feeds it
 * in the host has its own tests.
 */
let server: UploadServer;
let files: TempDir;

before(async () => {
  server = await startUploadServer({ throttleBytesPerSecond: 8 * 1024 * 1024 });
  files = await makeTempDir('engine-net-');
});
after(async () => {
  await server.close();
  await files.cleanup();
});

test('R50: offline at start waits as pausedNoNetwork, sends nothing, and completes when the network returns', async () => {
  const h = await startEngine({ maxAttempts: 1 });
  try {
    h.network.set({ connected: false });
    const source = await writeRandomFile(files.path, 'offline.bin', 100_000);
    const { guid } = h.engine.start(h.spec({ sourcePath: source.path, requestedUri: `${server.url}/offline` }));
    await h.waitFor(guid, (s) => s.progress.status === S.pausedNoNetwork);
    assert.equal(server.requests.filter((r) => r.url === '/offline').length, 0);
    h.network.set({ connected: true });
    await h.waitFor(guid, (s) => s.progress.status === S.completed);
    assert.equal(server.requests.find((r) => r.url === '/offline')?.sha256, source.sha256);
  } finally {
    await h.close();
  }
});

/** A network whose first reading is still being taken (the D-Bus monitor reads the bus in the background). */
class PendingNetwork extends ManualNetwork {
  readonly settled: Promise<void>;
  settle: () => void = () => undefined;
  constructor() {
    super();
    this.settled = new Promise((resolve) => {
      this.settle = resolve;
    });
  }
}

test('R50: before the first network reading nothing is sent nor shown a status; then the reading decides', async () => {
  const network = new PendingNetwork();
  const h = await startEngine({ maxAttempts: 1 }, { network });
  try {
    const source = await writeRandomFile(files.path, 'unread.bin', 100_000);
    const { guid } = h.engine.start(h.spec({ sourcePath: source.path, requestedUri: `${server.url}/unread` }));
    // The engine is open and took the upload; the monitor's fallback ("connected") must not be acted on.
    await sleep(1_000);
    assert.equal(server.requests.filter((r) => r.url === '/unread').length, 0, 'nothing sent before the reading');
    assert.deepEqual(
      h.updates.filter((s) => s.guid === guid && s.progress.status !== S.idle).map((s) => s.progress.status),
      [],
    );
    // The reading says offline: it waits (R50), still without a request.
    network.set({ connected: false });
    network.settle();
    await h.waitFor(guid, (s) => s.progress.status === S.pausedNoNetwork);
    assert.equal(server.requests.filter((r) => r.url === '/unread').length, 0);
    network.set({ connected: true });
    await h.waitFor(guid, (s) => s.progress.status === S.completed);
    assert.equal(server.requests.find((r) => r.url === '/unread')?.sha256, source.sha256);
  } finally {
    await h.close();
  }
});

test('R50: losing the network mid-upload pauses it without spending an attempt; it restarts when back (R38)', async () => {
  const h = await startEngine({ maxAttempts: 1 });
  try {
    const source = await writeRandomFile(files.path, 'drop.bin', 48 * 1024 * 1024);
    const { guid } = h.engine.start(h.spec({ sourcePath: source.path, requestedUri: `${server.url}/drop` }));
    await server.waitForRequest((r) => r.url === '/drop' && r.bodyBytes > 1024 * 1024);
    h.network.set({ connected: false });
    await h.waitFor(guid, (s) => s.progress.status === S.pausedNoNetwork);
    h.network.set({ connected: true });
    const restarted = await h.waitFor(guid, (s) => s.progress.status === S.running && s.progress.hasRestarted);
    assert.equal(restarted.progress.bytesSent, 0);
    await h.waitFor(guid, (s) => s.progress.status === S.completed, 30_000);
    const complete = server.requests.filter((r) => r.url === '/drop' && r.complete);
    assert.equal(complete.length, 1);
    assert.equal(complete[0]?.sha256, source.sha256);
  } finally {
    await h.close();
  }
});

test('R53: unrestrictedOnly waits on a metered network, default goes on; changing costPolicy acts at once (R52)', async () => {
  const h = await startEngine();
  try {
    h.network.set({ metered: true });
    const source = await writeRandomFile(files.path, 'metered.bin', 50_000);
    const strict = h.engine.start(
      h.spec({
        sourcePath: source.path,
        requestedUri: `${server.url}/strict`,
        costPolicy: BackgroundTransferCostPolicy.unrestrictedOnly,
      }),
    );
    const relaxed = h.engine.start(h.spec({ sourcePath: source.path, requestedUri: `${server.url}/relaxed` }));
    await h.waitFor(strict.guid, (s) => s.progress.status === S.pausedCostedNetwork);
    await h.waitFor(relaxed.guid, (s) => s.progress.status === S.completed);
    assert.equal(server.requests.filter((r) => r.url === '/strict').length, 0);
    h.engine.update(strict.guid, { costPolicy: BackgroundTransferCostPolicy.always });
    await h.waitFor(strict.guid, (s) => s.progress.status === S.completed);

    const later = h.engine.start(
      h.spec({
        sourcePath: source.path,
        requestedUri: `${server.url}/later`,
        costPolicy: BackgroundTransferCostPolicy.unrestrictedOnly,
      }),
    );
    await h.waitFor(later.guid, (s) => s.progress.status === S.pausedCostedNetwork);
    h.network.set({ metered: false });
    await h.waitFor(later.guid, (s) => s.progress.status === S.completed);
  } finally {
    await h.close();
  }
});

test('pause stops the request and survives; resume continues (restart from 0 on a plain server)', async () => {
  const h = await startEngine();
  try {
    const source = await writeRandomFile(files.path, 'pause.bin', 48 * 1024 * 1024);
    const { guid } = h.engine.start(h.spec({ sourcePath: source.path, requestedUri: `${server.url}/pause` }));
    await server.waitForRequest((r) => r.url === '/pause' && r.bodyBytes > 1024 * 1024);
    assert.equal(h.engine.pause(guid).progress.status, S.pausedByApplication);
    assert.equal(h.engine.pause(guid).progress.status, S.pausedByApplication, 'pausing twice is a no-op');
    await server.waitForRequest((r) => r.url === '/pause' && r.aborted, 15_000);
    assert.equal(h.engine.get(guid)?.progress.status, S.pausedByApplication);
    h.engine.resume(guid);
    await h.waitFor(guid, (s) => s.progress.status === S.completed, 30_000);
    assert.equal(server.requests.filter((r) => r.url === '/pause' && r.complete)[0]?.sha256, source.sha256);
    assert.throws(() => h.engine.pause(guid), { code: 'BT_ERR_ILLEGAL_STATE' });
    assert.throws(() => h.engine.resume(guid), { code: 'BT_ERR_ILLEGAL_STATE' });
  } finally {
    await h.close();
  }
});
