import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../../src/core/config.ts';
import { BackgroundTransferStatus as S } from '../../src/core/enums.ts';
import { DEFAULT_REQUEST_EXTRAS } from '../../src/core/operation-extras.ts';
import type { OperationSnapshot, OperationSpec } from '../../src/core/snapshot.ts';
import {
  type DigestHeader,
  type DownloadServer,
  type ServeOptions,
  startDownloadServer,
} from '../helpers/download-server.ts';
import { type EngineHarness, startEngine } from '../helpers/engine-harness.ts';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.ts';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.ts';

/**
 * How a download continues (docs/downloads.md): against node:http servers that honour ranges, ignore
 * them, change the body between attempts, send a wrong Content-Range or digests; pause, resume, cancel.
 */
const MIB = 1024 * 1024;
const BODY = randomBytes(4 * MIB + 123);

let out: TempDir;
let h: EngineHarness | undefined;
const closers: Array<() => Promise<void>> = [];

before(async () => {
  out = await makeTempDir('download-resume-');
});
afterEach(async () => {
  await h?.close();
  h = undefined;
  for (const close of closers.splice(0)) await close();
});
after(async () => {
  await out.cleanup();
});

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The download server with BODY under /file. */
async function serve(options: ServeOptions = {}, body = BODY): Promise<DownloadServer> {
  const server = await startDownloadServer();
  closers.push(() => server.close());
  await server.serve('/file', body, options);
  return server;
}

/** A proxy that cuts the first answer after `cutAfter` bytes; later connections pass. */
async function cutOnce(server: DownloadServer, cutAfter: number): Promise<FaultProxy> {
  const proxy = await startFaultProxy(Number(new URL(server.url).port));
  closers.push(() => proxy.close());
  proxy.nextConnection({ truncateAfterDownstreamBytes: cutAfter });
  return proxy;
}

async function engine(config: Partial<Config> = {}): Promise<EngineHarness> {
  h = await startEngine({ retryBaseDelayMs: 50, ...config });
  return h;
}

function downloadSpec(harness: EngineHarness, uri: string, name: string): OperationSpec {
  return {
    ...harness.spec({ sourcePath: '', requestedUri: uri }),
    method: 'GET',
    sourcePath: null,
    extras: { ...DEFAULT_REQUEST_EXTRAS, body: { kind: 'none' } },
    download: { resultPath: join(out.path, name) },
  };
}

function seen(harness: EngineHarness, guid: string, check: (snapshot: OperationSnapshot) => boolean): boolean {
  return harness.updates.some((snapshot) => snapshot.guid === guid && check(snapshot));
}

async function partialsOf(name: string): Promise<string[]> {
  return (await readdir(out.path)).filter((file) => file.startsWith(`.${name}.`));
}

describe('resume and restart', () => {
  it('a server that ignores ranges: the next request starts over (hasRestarted, hasResponseChanged)', async () => {
    const harness = await engine();
    const server = await serve({ ignoreRanges: true });
    const proxy = await cutOnce(server, MIB);
    const started = harness.engine.start(downloadSpec(harness, `${proxy.url}/file`, 'ignored.bin'));
    const done = await harness.waitFor(started.guid, (s) => s.progress.status === S.completed, 60_000);
    assert.equal(sha256(await readFile(join(out.path, 'ignored.bin'))), sha256(BODY));
    assert.equal(done.progress.bytesReceived, BODY.length);
    assert.ok(server.requests.length >= 2);
    assert.ok(server.requests[1]?.range, 'the second request asked for a range');
    assert.equal(server.requests[1]?.status, 200, 'and got the whole body');
    assert.ok(
      seen(harness, started.guid, (s) => s.progress.hasRestarted),
      'hasRestarted was reported',
    );
    assert.ok(
      seen(harness, started.guid, (s) => s.progress.hasResponseChanged),
      'hasResponseChanged was reported',
    );
  });

  it('a body that changed between attempts: If-Range no longer matches, the new body is downloaded whole', async () => {
    const harness = await engine();
    const server = await serve();
    const changed = randomBytes(3 * MIB + 5);
    const proxy = await startFaultProxy(Number(new URL(server.url).port), {
      // The body changes while the first request is cut: the retry's If-Range carries the old ETag.
      onFault: () => void server.replace('/file', changed),
    });
    closers.push(() => proxy.close());
    proxy.nextConnection({ truncateAfterDownstreamBytes: MIB });
    const started = harness.engine.start(downloadSpec(harness, `${proxy.url}/file`, 'changed.bin'));
    const done = await harness.waitFor(started.guid, (s) => s.progress.status === S.completed, 60_000);
    assert.equal(sha256(await readFile(join(out.path, 'changed.bin'))), sha256(changed));
    assert.equal(done.progress.totalBytesToReceive, changed.length);
    assert.match(server.requests[1]?.ifRange ?? '', /^"v1-/);
    assert.equal(server.requests[1]?.status, 200);
    assert.ok(seen(harness, started.guid, (s) => s.progress.hasRestarted && s.progress.bytesReceived <= MIB));
    assert.ok(seen(harness, started.guid, (s) => s.progress.hasResponseChanged));
  });

  it('a 206 with the wrong Content-Range: BT_ERR_CONTENT_RANGE, nothing written, the retry starts from byte 0', async () => {
    const harness = await engine();
    const server = await serve({ contentRangeShift: 100 });
    const proxy = await cutOnce(server, MIB);
    const started = harness.engine.start(downloadSpec(harness, `${proxy.url}/file`, 'skewed.bin'));
    await harness.waitFor(started.guid, (s) => s.progress.status === S.completed, 60_000);
    assert.ok(
      seen(harness, started.guid, (s) => s.error?.code === 'BT_ERR_CONTENT_RANGE'),
      'the coded error was kept',
    );
    assert.equal(server.requests[1]?.status, 206);
    assert.equal(server.requests[2]?.range, null, 'the retry asked for the whole body');
    assert.equal(sha256(await readFile(join(out.path, 'skewed.bin'))), sha256(BODY), 'no byte of the bad answer');
  });
});

describe('digests', () => {
  const matching: DigestHeader[] = [{ header: 'Repr-Digest', algorithm: 'sha-256' }, { header: 'Content-MD5' }];
  for (const digest of matching) {
    it(`a matching digest (${digest.header}) completes the download`, async () => {
      const harness = await engine();
      const server = await serve({ digests: [digest] });
      const name = `${digest.header}.bin`;
      const started = harness.engine.start(downloadSpec(harness, `${server.url}/file`, name));
      await harness.waitFor(started.guid, (s) => s.progress.status === S.completed, 60_000);
      assert.equal(sha256(await readFile(join(out.path, name))), sha256(BODY));
    });
  }

  it('a Repr-Digest checked across a resume: the kept prefix and the rest make the digest (right and wrong)', async () => {
    // The digest is hashed as the body is written; a continued file's prefix must be hashed from disk first.
    const harness = await engine({ maxAttempts: 5 });
    for (const wrong of [false, true]) {
      const server = await serve({ digests: [{ header: 'Repr-Digest', algorithm: 'sha-256', wrong }] });
      const proxy = await cutOnce(server, 2 * MIB);
      const name = `resumed-digest-${wrong}.bin`;
      const started = harness.engine.start(downloadSpec(harness, `${proxy.url}/file`, name));
      const ended = await harness.waitFor(
        started.guid,
        (s) => s.progress.status === S.completed || s.progress.status === S.error,
        60_000,
      );
      assert.equal(server.requests[1]?.status, 206, 'the second request continued the file');
      if (wrong) {
        assert.equal(ended.error?.code, 'BT_ERR_DIGEST_MISMATCH');
        assert.equal(existsSync(join(out.path, name)), false);
      } else {
        assert.equal(ended.progress.status, S.completed);
        assert.equal(sha256(await readFile(join(out.path, name))), sha256(BODY));
      }
    }
  });

  it('a wrong Repr-Digest: retried once from byte 0 (transit corruption), then BT_ERR_DIGEST_MISMATCH, no result file', async () => {
    // Attempts to spare: only one retry may fetch the body again.
    const harness = await engine({ maxAttempts: 5 });
    const server = await serve({ digests: [{ header: 'Repr-Digest', algorithm: 'sha-256', wrong: true }] });
    const started = harness.engine.start(downloadSpec(harness, `${server.url}/file`, 'wrong.bin'));
    const failed = await harness.waitFor(started.guid, (s) => s.progress.status === S.error, 60_000);
    assert.equal(failed.error?.code, 'BT_ERR_DIGEST_MISMATCH');
    assert.match(failed.error?.message ?? '', /sha-256/);
    assert.equal(server.requests.length, 2, 'retried once from byte 0, then failed');
    assert.equal(server.requests[1]?.range, null);
    assert.equal(existsSync(join(out.path, 'wrong.bin')), false);
    for (let waited = 0; (await partialsOf('wrong.bin')).length > 0; waited += 50) {
      assert.ok(waited < 5_000, 'the partial file was removed');
      await sleep(50);
    }
  });
});

describe('pause, resume, cancel', () => {
  it('pause keeps the partial file; resume continues it with a range request', async () => {
    const harness = await engine();
    const server = await serve({ throttleBytesPerSecond: 2 * MIB });
    const started = harness.engine.start(downloadSpec(harness, `${server.url}/file`, 'paused.bin'));
    await harness.waitFor(started.guid, (s) => s.progress.bytesReceived >= MIB, 30_000);
    const paused = harness.engine.pause(started.guid);
    assert.equal(paused.progress.status, S.pausedByApplication);
    await sleep(200);
    assert.equal((await partialsOf('paused.bin')).length, 1, 'the partial file is kept');
    server.setOptions('/file', {});
    harness.engine.resume(started.guid);
    await harness.waitFor(started.guid, (s) => s.progress.status === S.completed, 60_000);
    assert.equal(sha256(await readFile(join(out.path, 'paused.bin'))), sha256(BODY));
    const resumed = server.requests.at(-1);
    assert.equal(resumed?.status, 206);
    assert.ok(Number(/bytes=(\d+)-/.exec(resumed?.range ?? '')?.[1]) >= MIB / 2, `resumed at ${resumed?.range}`);
  });

  it('a 206 cut before its first body byte keeps the partial file: the retry asks for the same range', async () => {
    const harness = await engine();
    const server = await serve({ throttleBytesPerSecond: 2 * MIB });
    const started = harness.engine.start(downloadSpec(harness, `${server.url}/file`, 'head-cut.bin'));
    await harness.waitFor(started.guid, (s) => s.progress.bytesReceived >= MIB, 30_000);
    harness.engine.pause(started.guid);
    // The next answer is reset right after its head: a 206 that carries no body byte.
    server.setOptions('/file', { cutAfterBytes: 0 });
    harness.engine.resume(started.guid);
    await harness.waitFor(started.guid, (s) => s.progress.status === S.completed, 60_000);
    assert.equal(sha256(await readFile(join(out.path, 'head-cut.bin'))), sha256(BODY));
    const [cut, retry] = server.requests.slice(-2);
    assert.equal(cut?.status, 206);
    assert.equal(cut?.bytesSent, 0, 'the cut answer carried no body');
    const from = (range: string | null | undefined): number => Number(/bytes=(\d+)-/.exec(range ?? '')?.[1] ?? 0);
    assert.ok(from(cut?.range) >= MIB / 2, `the resume asked for ${cut?.range}`);
    assert.equal(retry?.range, cut?.range, 'the retry continues the same partial file');
    assert.equal(retry?.status, 206);
    assert.equal(server.bytesSentTwice('/file'), 0);
  });

  it('an empty file downloads as an empty result file', async () => {
    const harness = await engine();
    const server = await serve({}, Buffer.alloc(0));
    const started = harness.engine.start(downloadSpec(harness, `${server.url}/file`, 'empty.bin'));
    const done = await harness.waitFor(
      started.guid,
      (s) => s.progress.status === S.completed || s.progress.status === S.error,
      30_000,
    );
    assert.equal(done.error, null, JSON.stringify(done.error));
    assert.equal(done.progress.status, S.completed);
    assert.equal((await readFile(join(out.path, 'empty.bin'))).length, 0);
    assert.deepEqual(await partialsOf('empty.bin'), []);
  });

  it('cancel removes the partial file and never creates the result file', async () => {
    const harness = await engine();
    const server = await serve({ throttleBytesPerSecond: 2 * MIB });
    const started = harness.engine.start(downloadSpec(harness, `${server.url}/file`, 'canceled.bin'));
    await harness.waitFor(started.guid, (s) => s.progress.bytesReceived >= MIB / 2, 30_000);
    assert.equal((await partialsOf('canceled.bin')).length, 1);
    assert.equal(harness.engine.cancel(started.guid).progress.status, S.canceled);
    for (let waited = 0; (await partialsOf('canceled.bin')).length > 0; waited += 50) {
      assert.ok(waited < 5_000, 'the partial file was removed');
      await sleep(50);
    }
    await sleep(300);
    assert.deepEqual(await partialsOf('canceled.bin'), [], 'and not created again by the winding-down request');
    assert.equal(existsSync(join(out.path, 'canceled.bin')), false);
  });
});
