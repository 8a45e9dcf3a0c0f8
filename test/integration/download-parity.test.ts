import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  BackgroundTransferBehavior,
  BackgroundTransferCostPolicy,
  BackgroundTransferPriority,
  BackgroundTransferStatus as S,
} from '../../src/core/enums.ts';
import { BackgroundDownloader, BackgroundTransferCompletionGroup } from '../../src/index.ts';
import { type ParityServer, startParityServer } from '../helpers/download-parity-server.ts';
import {
  downloadSpec,
  ended,
  outcome,
  sha256,
  withApiHost,
  withNotificationService,
} from '../helpers/download-parity-spec.ts';
import { type DownloadRecord, type DownloadServer, startDownloadServer } from '../helpers/download-server.ts';
import { startEngine } from '../helpers/engine-harness.ts';
import { startHttpProxy } from '../helpers/http-proxy.ts';
import { NODE_TS_FLAGS } from '../helpers/process-tools.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { makeTestCertificates } from '../helpers/tls-certs.ts';
import { waitFor } from '../helpers/wait-for.ts';

/**
 * Downloads get what uploads get (docs/downloads.md and the D rules that point at upload rules): Retry-After,
 * credentials, proxies, transfer groups, priorities, cost and connectivity waits, extra CAs, stall detection,
 * completion groups and notifications; real servers on loopback, a real engine or a real host process.
 */
let server: DownloadServer;
let dir: TempDir;
let file: RandomFile;

before(async () => {
  server = await startDownloadServer();
  dir = await makeTempDir('download-parity-');
  file = await writeRandomFile(dir.path, 'served.bin', 300_000);
});
after(async () => {
  await server.close();
  await dir.cleanup();
});

function onPath(path: string): DownloadRecord[] {
  return server.requests.filter((r) => r.path === path);
}

test('D26: a 503 with Retry-After: 1 is retried after about a second, then the download completes byte-exact', async () => {
  const arrivals: number[] = [];
  await server.serve('/retry-after.bin', file.path, {
    intercept: () =>
      arrivals.push(Date.now()) === 1 ? { status: 503, headers: [['Retry-After', '1']], body: 'busy' } : undefined,
  });
  const h = await startEngine({ maxAttempts: 3, retryBaseDelayMs: 5 });
  try {
    const { spec, resultPath } = downloadSpec(h, dir.path, `${server.url}/retry-after.bin`);
    const { guid } = h.engine.start(spec);
    const done = await h.waitFor(guid, ended, 30_000);
    assert.equal(done.progress.status, S.completed, JSON.stringify(done.error));
    assert.equal(sha256(await readFile(resultPath)), file.sha256);
    const requests = onPath('/retry-after.bin');
    assert.deepEqual(
      requests.map((r) => r.status),
      [503, 200],
    );
    const waited = (arrivals[1] ?? 0) - (arrivals[0] ?? 0);
    // retryBaseDelayMs is 5: only Retry-After explains a wait near a second.
    assert.ok(waited >= 900, `the retry waited ${waited} ms`);
  } finally {
    await h.close();
  }
});

const USER = 'parity-user';
const PASSWORD = 'parity-secret-pw';
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

test('R65 for downloads: serverCredential (Basic) passes a server that answers 401 without it; a wrong password fails, unshown', async () => {
  await server.serve('/auth.bin', file.path, {
    intercept: (request) => {
      const auth = request.headers.find(([name]) => name.toLowerCase() === 'authorization')?.[1];
      if (auth === BASIC) return undefined;
      return { status: 401, headers: [['WWW-Authenticate', 'Basic realm="parity"']], body: 'who are you' };
    },
  });
  const h = await startEngine({ maxAttempts: 2, retryBaseDelayMs: 5 });
  try {
    const good = downloadSpec(
      h,
      dir.path,
      `${server.url}/auth.bin`,
      {},
      { serverCredential: { userName: USER, password: PASSWORD } },
    );
    const ok = await h.waitFor(h.engine.start(good.spec).guid, ended, 30_000);
    assert.equal(ok.progress.status, S.completed, JSON.stringify(ok.error));
    assert.equal(sha256(await readFile(good.resultPath)), file.sha256);
    assert.equal(onPath('/auth.bin').at(-1)?.status, 200);

    const wrong = downloadSpec(
      h,
      dir.path,
      `${server.url}/auth.bin`,
      {},
      { serverCredential: { userName: USER, password: 'wrong-pw-xyz' } },
    );
    const failed = await h.waitFor(h.engine.start(wrong.spec).guid, (s) => s.progress.status === S.error, 30_000);
    assert.equal(failed.error?.httpStatus, 401);
    const shown = JSON.stringify(failed) + JSON.stringify(h.updates);
    assert.doesNotMatch(shown, /wrong-pw-xyz|parity-secret-pw/);
  } finally {
    await h.close();
  }
});

test('R30 for downloads: a serialized transfer group runs its downloads one at a time, in start order', async () => {
  const starts: Array<{ path: string; busy: string[] }> = [];
  const paths = ['/ser-1.bin', '/ser-2.bin', '/ser-3.bin'];
  for (const path of paths) {
    await server.serve(path, file.path, {
      throttleBytesPerSecond: 1_000_000,
      intercept: (request) => {
        const busy = server.requests.filter(
          // Not `complete`: the client may hold every byte before the server's end() callback ran.
          (r) => r !== request && paths.includes(r.path) && r.bytesSent < file.size && !r.aborted,
        );
        starts.push({ path: request.path, busy: busy.map((r) => r.path) });
        return undefined;
      },
    });
  }
  const h = await startEngine({ retryBaseDelayMs: 5 });
  try {
    const transferGroup = { name: 'parity-serial', transferBehavior: BackgroundTransferBehavior.serialized };
    const guids = paths.map(
      (path) => h.engine.start(downloadSpec(h, dir.path, `${server.url}${path}`, { transferGroup }).spec).guid,
    );
    for (const guid of guids) await h.waitFor(guid, (s) => s.progress.status === S.completed, 30_000);
    assert.deepEqual(
      starts.map((s) => s.path),
      paths,
    );
    assert.deepEqual(
      starts.map((s) => s.busy),
      [[], [], []],
      'no download of the group started while another one was sending',
    );
  } finally {
    await h.close();
  }
});

test('R53 for downloads: unrestrictedOnly waits on a metered network and goes on when it is not metered', async () => {
  await server.serve('/metered.bin', file.path);
  await server.serve('/relaxed.bin', file.path);
  const h = await startEngine();
  try {
    h.network.set({ metered: true });
    const strict = downloadSpec(h, dir.path, `${server.url}/metered.bin`, {
      costPolicy: BackgroundTransferCostPolicy.unrestrictedOnly,
    });
    const { guid } = h.engine.start(strict.spec);
    const relaxed = h.engine.start(downloadSpec(h, dir.path, `${server.url}/relaxed.bin`).spec);
    await h.waitFor(guid, (s) => s.progress.status === S.pausedCostedNetwork);
    await h.waitFor(relaxed.guid, (s) => s.progress.status === S.completed, 30_000);
    assert.equal(onPath('/metered.bin').length, 0, 'nothing was fetched on the metered network');
    h.network.set({ metered: false });
    await h.waitFor(guid, (s) => s.progress.status === S.completed, 30_000);
    assert.equal(sha256(await readFile(strict.resultPath)), file.sha256);
  } finally {
    await h.close();
  }
});

test('HTTPS downloads trust the CA from extraCaCertificates, and only then', async () => {
  const certificates = await makeTestCertificates();
  const caPath = join(dir.path, 'parity-ca.pem');
  await writeFile(caPath, certificates.caCert);
  const body = randomBytes(200_000);
  const tls: ParityServer = await startParityServer(body, { tls: certificates.valid });
  const trusting = await startEngine({ extraCaCertificates: [caPath], maxAttempts: 1 });
  const plain = await startEngine({ maxAttempts: 1 });
  try {
    const good = downloadSpec(trusting, dir.path, `${tls.url}/tls.bin`);
    const done = await trusting.waitFor(trusting.engine.start(good.spec).guid, ended, 30_000);
    assert.equal(done.progress.status, S.completed, JSON.stringify(done.error));
    assert.equal(sha256(await readFile(good.resultPath)), sha256(body));
    const refused = plain.engine.start(downloadSpec(plain, dir.path, `${tls.url}/tls.bin`).spec);
    const failed = await plain.waitFor(refused.guid, (s) => s.progress.status === S.error, 30_000);
    assert.equal(failed.response, null, 'no answer came through an untrusted certificate');
  } finally {
    await trusting.close();
    await plain.close();
    await tls.close();
  }
});

test('D26 stall detection: a server that stops sending mid-body is dropped and the download resumes with Range, byte-exact', async () => {
  const body = randomBytes(400_000);
  const stalling = await startParityServer(body, { stallAfterBytes: 150_000 });
  const h = await startEngine({ stallTimeoutMs: 1_000, retryBaseDelayMs: 5 });
  try {
    const { spec, resultPath } = downloadSpec(h, dir.path, `${stalling.url}/stall.bin`);
    const done = await h.waitFor(h.engine.start(spec).guid, ended, 30_000);
    assert.equal(done.progress.status, S.completed, JSON.stringify(done.error));
    assert.equal(sha256(await readFile(resultPath)), sha256(body));
    assert.equal(stalling.requests.length, 2);
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(stalling.requests[1]?.range ?? '')?.[1]);
    assert.ok(resumedAt > 0 && resumedAt <= 150_000, `resumed at ${stalling.requests[1]?.range}`);
    assert.equal(stalling.requests[1]?.status, 206);
    assert.equal(done.progress.hasRestarted, false);
  } finally {
    await h.close();
    await stalling.close();
  }
});

const TASK = fileURLToPath(new URL('../scripts/completion-task.ts', import.meta.url));

test('D4 + R78–R82: a completion group of downloads runs its task once, in the host, after both ended (one 404)', async () => {
  await server.serve('/group-ok.bin', file.path, { throttleBytesPerSecond: 1_000_000 });
  await server.serve('/group-missing.bin', file.path, { intercept: () => ({ status: 404, body: 'no such file' }) });
  await withApiHost('download-parity-group', { retryBaseDelayMs: 20, maxAttempts: 2 }, async (home) => {
    const taskOut = join(home.dir, 'task-runs.jsonl');
    const group = new BackgroundTransferCompletionGroup({
      command: process.execPath,
      args: [...NODE_TS_FLAGS, TASK, taskOut],
    });
    const downloader = new BackgroundDownloader(group);
    const ok = downloader.createDownload(`${server.url}/group-ok.bin`, join(home.dir, 'ok.bin'));
    const missing = downloader.createDownload(`${server.url}/group-missing.bin`, join(home.dir, 'missing.bin'));
    const outcomes = [ok, missing].map(outcome);
    group.enable();
    await group.enabled;
    assert.deepEqual(await Promise.all(outcomes), ['done', 'failed']);
    await waitFor(
      'the completion task ran',
      () => existsSync(taskOut) && readFileSync(taskOut, 'utf8').includes('\n'),
      30_000,
    );
    // Give a second (wrong) run the chance to show up before counting.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const runs = readFileSync(taskOut, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { details: { uploads: Array<{ guid: string; statusCode: number | null }> } });
    assert.equal(runs.length, 1, 'the task ran exactly once');
    const members = runs[0]?.details.uploads ?? [];
    assert.deepEqual(
      members.map((m) => [m.guid, m.statusCode]).sort(),
      [
        [ok.guid, 200],
        [missing.guid, 404],
      ].sort(),
    );
    assert.equal(sha256(await readFile(join(home.dir, 'ok.bin'))), file.sha256);
  });
});

test('R65 for downloads: through a proxy that wants Basic, proxyCredential gets through; a wrong one is a 407 without the password', async () => {
  await server.serve('/proxied.bin', file.path);
  const proxy = await startHttpProxy({ credential: { userName: 'proxy-user', password: 'proxy-pw-right' } });
  const h = await startEngine({ proxy: proxy.url, maxAttempts: 1 });
  try {
    const good = downloadSpec(
      h,
      dir.path,
      `${server.url}/proxied.bin`,
      {},
      { proxyCredential: { userName: 'proxy-user', password: 'proxy-pw-right' } },
    );
    const done = await h.waitFor(h.engine.start(good.spec).guid, ended, 30_000);
    assert.equal(done.progress.status, S.completed, JSON.stringify(done.error));
    assert.equal(sha256(await readFile(good.resultPath)), file.sha256);
    assert.ok(
      proxy.requests.some((r) => r.target.includes('/proxied.bin') && r.authorized),
      'the download went through the proxy, authorized',
    );

    const wrong = downloadSpec(
      h,
      dir.path,
      `${server.url}/proxied.bin`,
      {},
      { proxyCredential: { userName: 'proxy-user', password: 'proxy-pw-wrong' } },
    );
    const failed = await h.waitFor(h.engine.start(wrong.spec).guid, (s) => s.progress.status === S.error, 30_000);
    assert.equal(failed.error?.httpStatus, 407);
    assert.doesNotMatch(JSON.stringify(h.updates), /proxy-pw-right|proxy-pw-wrong/);
  } finally {
    await h.close();
    await proxy.close();
  }
});

test('R50 for downloads: without connectivity a download waits (pausedNoNetwork) and starts when the network is back', async () => {
  await server.serve('/offline.bin', file.path);
  const h = await startEngine();
  try {
    h.network.set({ connected: false });
    const offline = downloadSpec(h, dir.path, `${server.url}/offline.bin`);
    const { guid } = h.engine.start(offline.spec);
    await h.waitFor(guid, (s) => s.progress.status === S.pausedNoNetwork);
    assert.equal(onPath('/offline.bin').length, 0, 'no request without connectivity');
    h.network.set({ connected: true });
    await h.waitFor(guid, (s) => s.progress.status === S.completed, 30_000);
    assert.equal(sha256(await readFile(offline.resultPath)), file.sha256);
  } finally {
    await h.close();
  }
});

test('R31 for downloads: behind a running download with one slot, High runs first, then Default, then Low', async () => {
  const order: string[] = [];
  const paths = ['/prio-blocker.bin', '/prio-low.bin', '/prio-default.bin', '/prio-high.bin'];
  for (const path of paths) {
    const throttle = path === '/prio-blocker.bin' ? { throttleBytesPerSecond: 600_000 } : {};
    await server.serve(path, file.path, { ...throttle, intercept: (r) => void order.push(r.path) });
  }
  const h = await startEngine({ maxConcurrentTransfers: 1 });
  try {
    const start = (path: string, priority: BackgroundTransferPriority = BackgroundTransferPriority.default) =>
      h.engine.start(downloadSpec(h, dir.path, `${server.url}${path}`, { priority }).spec).guid;
    const blocker = start('/prio-blocker.bin');
    await h.waitFor(blocker, (s) => s.progress.bytesReceived > 0, 30_000);
    const guids = [
      start('/prio-low.bin', BackgroundTransferPriority.low),
      start('/prio-default.bin'),
      start('/prio-high.bin', BackgroundTransferPriority.high),
    ];
    for (const guid of [blocker, ...guids]) await h.waitFor(guid, (s) => s.progress.status === S.completed, 30_000);
    assert.deepEqual(order, ['/prio-blocker.bin', '/prio-high.bin', '/prio-default.bin', '/prio-low.bin']);
  } finally {
    await h.close();
  }
});

test('R74 for downloads: one success notification for an all-good downloader, one failure notification when a download gets a 404', async () => {
  await server.serve('/toast-ok.bin', file.path);
  await server.serve('/toast-missing.bin', file.path, { intercept: () => ({ status: 404, body: 'gone' }) });
  await withNotificationService(async (service) => {
    await withApiHost('download-parity-toast', { maxAttempts: 1 }, async (home) => {
      const downloader = (name: string) => {
        const made = new BackgroundDownloader();
        made.successToastNotification = `${name}: all done`;
        made.failureToastNotification = `${name}: one failed`;
        return made;
      };
      const good = downloader('good');
      const mixed = downloader('mixed');
      const outcomes = await Promise.all([
        outcome(good.createDownload(`${server.url}/toast-ok.bin`, join(home.dir, 'a.bin'))),
        outcome(good.createDownload(`${server.url}/toast-ok.bin`, join(home.dir, 'b.bin'))),
        outcome(mixed.createDownload(`${server.url}/toast-ok.bin`, join(home.dir, 'c.bin'))),
        outcome(mixed.createDownload(`${server.url}/toast-missing.bin`, join(home.dir, 'd.bin'))),
      ]);
      assert.deepEqual(outcomes, ['done', 'done', 'done', 'failed']);
      await waitFor('two notifications', () => service.notifications.length >= 2, 15_000);
      await new Promise((resolve) => setTimeout(resolve, 500)); // room for a wrong third one
      assert.deepEqual(service.notifications.map((n) => n.body).sort(), ['good: all done', 'mixed: one failed']);
    });
  });
});

test('R30 parallel group and per-app scoping: two downloads of a parallel group overlap; another app lists none of them', async () => {
  const paths = ['/par-1.bin', '/par-2.bin'];
  for (const path of paths) await server.serve(path, file.path, { throttleBytesPerSecond: 600_000 });
  const h = await startEngine();
  try {
    const transferGroup = { name: 'parity-parallel', transferBehavior: BackgroundTransferBehavior.parallel };
    const start = (path: string) =>
      downloadSpec(h, dir.path, `${server.url}${path}`, { transferGroup, appId: 'app-a' });
    const guids = paths.map((path) => h.engine.start(start(path).spec).guid);
    await waitFor(
      'both downloads sending at once',
      () => paths.every((p) => onPath(p).some((r) => r.bytesSent > 0 && r.bytesSent < file.size)),
      20_000,
    );
    assert.deepEqual(h.engine.list('app-b', { kind: 'all' }, 'download'), [], 'another app sees none');
    assert.deepEqual(
      h.engine
        .list('app-a', { kind: 'all' }, 'download')
        .map((s) => s.guid)
        .sort(),
      [...guids].sort(),
    );
    for (const guid of guids) await h.waitFor(guid, (s) => s.progress.status === S.completed, 30_000);
  } finally {
    await h.close();
  }
});
