import assert from 'node:assert/strict';
import { createHash, pbkdf2, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../../src/core/config.ts';
import { BackgroundTransferStatus as S } from '../../src/core/enums.ts';
import { DEFAULT_REQUEST_EXTRAS } from '../../src/core/operation-extras.ts';
import type { OperationSnapshot, OperationSpec } from '../../src/core/snapshot.ts';
import type { OperationStore } from '../../src/store/operation-store.ts';
import { type EngineHarness, type EngineHarnessOptions, startEngine } from '../helpers/engine-harness.ts';
import { type FtpSrvOptions, startFtpSrv, type TestFtpServer } from '../helpers/ftp-servers.ts';
import { makeTempDir, type TempDir } from '../helpers/temp-dir.ts';
import { makeTestCertificates } from '../helpers/tls-certs.ts';
import { startVsftpd } from '../helpers/vsftpd.ts';

/**
 * FTP downloads through the engine (docs/downloads.md, "FTP") against ftp-srv in-process and Debian's
 * vsftpd as a real daemon: byte-exact files, REST after a cut, a restart when the file changed or the
 * server has no REST, and coded errors that name the request and never the password.
 */
const MIB = 1024 * 1024;
/** Slow enough that a cut lands in the middle: 6 MiB at 2 MiB/s. */
const RATE = 2 * MIB;
const BODY = randomBytes(6 * MIB + 321);

let out: TempDir;
let h: EngineHarness | undefined;
const closers: Array<() => Promise<void>> = [];

before(async () => {
  out = await makeTempDir('ftp-download-');
});
afterEach(async () => {
  await h?.close();
  h = undefined;
  for (const close of closers.splice(0)) await close();
});
after(() => out.cleanup());

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function engine(config: Partial<Config> = {}, options: EngineHarnessOptions = {}): Promise<EngineHarness> {
  h = await startEngine({ retryBaseDelayMs: 50, ...config }, options);
  return h;
}

type Kind = 'ftp-srv' | 'vsftpd';

async function server(kind: Kind, slow: boolean, options: FtpSrvOptions = {}): Promise<TestFtpServer> {
  const started =
    kind === 'vsftpd'
      ? await startVsftpd(slow ? { maxBytesPerSecond: RATE } : {})
      : await startFtpSrv({ ...options, ...(slow ? { readBytesPerSecond: RATE } : {}) });
  closers.push(() => started.stop());
  return started;
}

function downloadSpec(
  harness: EngineHarness,
  ftp: TestFtpServer,
  path: string,
  name: string,
  password = ftp.login.password,
): OperationSpec {
  return {
    ...harness.spec({ sourcePath: '', requestedUri: `${ftp.url}${path}` }),
    method: 'GET',
    sourcePath: null,
    extras: { ...DEFAULT_REQUEST_EXTRAS, body: { kind: 'none' }, serverCredential: { ...ftp.login, password } },
    download: { resultPath: join(out.path, name) },
  };
}

function seen(harness: EngineHarness, guid: string, check: (snapshot: OperationSnapshot) => boolean): boolean {
  return harness.updates.some((snapshot) => snapshot.guid === guid && check(snapshot));
}

/**
 * A store whose moveToFailed first fills every thread of libuv's pool with a slow key derivation, as a
 * host's other downloads fill it with fsyncs: file work the engine queues next waits behind it.
 */
function busyPoolOnFailure(store: OperationStore): OperationStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (property === 'moveToFailed') {
          const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
          for (let i = 0; i < threads; i++) pbkdf2('busy', 'pool', 200_000, 32, 'sha256', () => undefined);
        }
        // The store's methods read its private fields: they run on the store, not on the proxy.
        return (value as (...params: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

async function leftovers(name: string): Promise<string[]> {
  return (await readdir(out.path)).filter((file) => file.startsWith(`.${name}.`));
}

/** Waits until the download has `bytes` fsynced, then cuts every session of the server. */
async function cutAfter(harness: EngineHarness, guid: string, ftp: TestFtpServer, bytes: number): Promise<number> {
  const before = await harness.waitFor(guid, (s) => s.progress.bytesReceived >= bytes, 60_000);
  await ftp.cutSessions();
  return before.progress.bytesReceived;
}

for (const kind of ['ftp-srv', 'vsftpd'] as const) {
  describe(`FTP downloads through the engine: ${kind}`, () => {
    it('a whole file arrives byte-exact; totalBytesToReceive is its SIZE; no response information, no partial file', async () => {
      const harness = await engine();
      const ftp = await server(kind, false);
      await writeFile(join(ftp.root, 'whole.bin'), BODY);
      const started = harness.engine.start(downloadSpec(harness, ftp, 'whole.bin', 'whole.bin'));
      const done = await harness.waitFor(started.guid, (s) => s.progress.status === S.completed, 60_000);
      assert.equal(sha256(await readFile(join(out.path, 'whole.bin'))), sha256(BODY));
      assert.equal(done.progress.bytesReceived, BODY.length);
      assert.equal(done.progress.totalBytesToReceive, BODY.length);
      assert.equal(done.response, null, 'FTP has no response to keep (R43), as for FTP uploads');
      assert.deepEqual(await leftovers('whole.bin'), []);
    });

    it('an empty file arrives as an empty result file', async () => {
      const harness = await engine();
      const ftp = await server(kind, false);
      await writeFile(join(ftp.root, 'empty.bin'), Buffer.alloc(0));
      const started = harness.engine.start(downloadSpec(harness, ftp, 'empty.bin', 'empty.bin'));
      const done = await harness.waitFor(
        started.guid,
        (s) => s.progress.status === S.completed || s.progress.status === S.error,
        60_000,
      );
      assert.equal(done.error, null, JSON.stringify(done.error));
      assert.equal((await readFile(join(out.path, 'empty.bin'))).length, 0);
      assert.deepEqual(await leftovers('empty.bin'), []);
    });

    it('cut mid-transfer: the retry continues with REST from the fsynced offset, without a restart', async () => {
      const harness = await engine();
      const ftp = await server(kind, true);
      await writeFile(join(ftp.root, 'cut.bin'), BODY);
      const started = harness.engine.start(downloadSpec(harness, ftp, 'cut.bin', 'cut.bin'));
      const durableAtCut = await cutAfter(harness, started.guid, ftp, 2 * MIB);
      const done = await harness.waitFor(started.guid, (s) => s.progress.status === S.completed, 60_000);
      assert.equal(sha256(await readFile(join(out.path, 'cut.bin'))), sha256(BODY));
      assert.equal(done.progress.bytesReceived, BODY.length);
      const rests = await ftp.restOffsets();
      assert.equal(rests.length, 1, `one REST: ${JSON.stringify(rests)}`);
      assert.ok((rests[0] ?? 0) >= durableAtCut, `REST ${rests[0]} from at least the ${durableAtCut} bytes fsynced`);
      assert.ok(!seen(harness, started.guid, (s) => s.progress.hasRestarted), 'never restarted');
      // The error names the command, the bytes that had arrived and the URL: "FTP RETR cut.bin (after
      // 2588672 bytes) at ftp://127.0.0.1:…/cut.bin: the connection was reset by the server".
      const cut = harness.updates.find((s) => s.guid === started.guid && s.error !== null)?.error;
      assert.match(cut?.code ?? '', /^BT_ERR_CONNECTION_(RESET|ABORTED)$/);
      assert.match(
        cut?.message ?? '',
        /^FTP RETR cut\.bin \(after \d+ bytes\) at ftp:\/\/127\.0\.0\.1:\d+\/cut\.bin: \S/,
      );
    });

    it('the file changed on the server between attempts: MDTM/SIZE differ, the retry starts over (hasRestarted)', async () => {
      const harness = await engine();
      const ftp = await server(kind, true);
      const path = join(ftp.root, 'changing.bin');
      await writeFile(path, BODY);
      await utimes(path, new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:00:00Z'));
      const started = harness.engine.start(downloadSpec(harness, ftp, 'changing.bin', 'changing.bin'));
      await harness.waitFor(started.guid, (s) => s.progress.bytesReceived >= MIB, 60_000);
      // Same size, new bytes and a new modification time: only MDTM tells.
      const changed = randomBytes(BODY.length);
      await writeFile(path, changed);
      await ftp.cutSessions();
      const done = await harness.waitFor(started.guid, (s) => s.progress.status === S.completed, 60_000);
      assert.equal(sha256(await readFile(join(out.path, 'changing.bin'))), sha256(changed));
      assert.equal(done.progress.bytesReceived, changed.length);
      assert.deepEqual(await ftp.restOffsets(), [], 'no REST: the old bytes were not continued');
      assert.ok(seen(harness, started.guid, (s) => s.progress.hasRestarted && s.progress.hasResponseChanged));
    });

    it('a wrong password: BT_ERR_AUTH_FAILED at once, naming the login and the URL, never the password', async () => {
      const harness = await engine({}, { wrapStore: busyPoolOnFailure });
      const ftp = await server(kind, false);
      await writeFile(join(ftp.root, 'locked.bin'), BODY.subarray(0, 1000));
      const password = 'pw-Wrong-93ad';
      const started = harness.engine.start(downloadSpec(harness, ftp, 'locked.bin', 'locked.bin', password));
      // Read as the error is published, with the pool busy: an app told of the end finds no partial file.
      const atError: string[][] = [];
      harness.engine.onUpdate((s) => {
        if (s.guid !== started.guid || s.progress.status !== S.error) return;
        atError.push(readdirSync(out.path).filter((file) => file.startsWith('.locked.bin.')));
      });
      const done = await harness.waitFor(started.guid, (s) => s.progress.status === S.error, 30_000);
      assert.deepEqual(atError, [[]], 'the partial file was gone when the error was published');
      assert.equal(done.error?.code, 'BT_ERR_AUTH_FAILED');
      assert.match(
        done.error?.message ?? '',
        /FTP login as \S+ at ftp:\/\/127\.0\.0\.1:\d+\/locked\.bin: the server answered 530/,
      );
      assert.ok(!JSON.stringify(harness.updates).includes(password), 'the password is in no snapshot');
      assert.deepEqual(await leftovers('locked.bin'), []);
    });

    it('550: a missing file fails at once with BT_ERR_FTP_PERMANENT naming RETR and the URL; a directory says so', async () => {
      const harness = await engine();
      const ftp = await server(kind, false);
      const missing = harness.engine.start(downloadSpec(harness, ftp, 'dir/none.bin', 'none.bin'));
      const failed = await harness.waitFor(missing.guid, (s) => s.progress.status === S.error, 30_000);
      assert.equal(failed.error?.code, 'BT_ERR_FTP_PERMANENT');
      assert.match(
        failed.error?.message ?? '',
        /^FTP CWD dir at ftp:\/\/127\.0\.0\.1:\d+\/dir\/none\.bin: the server answered 55\d/,
      );

      const absent = harness.engine.start(downloadSpec(harness, ftp, 'none.bin', 'none2.bin'));
      const gone = await harness.waitFor(absent.guid, (s) => s.progress.status === S.error, 30_000);
      assert.equal(gone.error?.code, 'BT_ERR_FTP_PERMANENT');
      assert.match(
        gone.error?.message ?? '',
        /^FTP RETR none\.bin at ftp:\/\/127\.0\.0\.1:\d+\/none\.bin: the server answered 55\d/,
      );

      await mkdir(join(ftp.root, 'folder'));
      const directory = harness.engine.start(downloadSpec(harness, ftp, 'folder', 'folder.bin'));
      const refused = await harness.waitFor(directory.guid, (s) => s.progress.status === S.error, 30_000);
      assert.equal(refused.error?.code, 'BT_ERR_FTP_PERMANENT');
      assert.match(
        refused.error?.message ?? '',
        /^FTP RETR at ftp:\/\/127\.0\.0\.1:\d+\/folder: folder is a directory, not a file$/,
      );
      for (const name of ['none.bin', 'none2.bin', 'folder.bin']) assert.deepEqual(await leftovers(name), []);
    });
  });
}

describe('FTP downloads: what one server or setting shows', () => {
  it('a server without REST (502): the retry after a cut starts over from byte 0 (hasRestarted)', async () => {
    const harness = await engine();
    const ftp = await server('ftp-srv', true, { disabledCommands: ['REST'] });
    await writeFile(join(ftp.root, 'norest.bin'), BODY);
    const started = harness.engine.start(downloadSpec(harness, ftp, 'norest.bin', 'norest.bin'));
    await cutAfter(harness, started.guid, ftp, MIB);
    const done = await harness.waitFor(started.guid, (s) => s.progress.status === S.completed, 60_000);
    assert.equal(sha256(await readFile(join(out.path, 'norest.bin'))), sha256(BODY));
    assert.equal(done.progress.bytesReceived, BODY.length);
    assert.ok(seen(harness, started.guid, (s) => s.progress.hasRestarted && s.progress.bytesReceived < BODY.length));
  });

  it('a server that ignores REST and sends from byte 0: more bytes than SIZE is BT_ERR_INVALID_RESPONSE, then a restart', async () => {
    const harness = await engine();
    const ftp = await server('ftp-srv', true, { ignoreRest: true });
    await writeFile(join(ftp.root, 'ignored.bin'), BODY);
    const started = harness.engine.start(downloadSpec(harness, ftp, 'ignored.bin', 'ignored.bin'));
    await cutAfter(harness, started.guid, ftp, MIB);
    const done = await harness.waitFor(started.guid, (s) => s.progress.status === S.completed, 90_000);
    assert.equal(sha256(await readFile(join(out.path, 'ignored.bin'))), sha256(BODY));
    assert.equal(done.progress.bytesReceived, BODY.length);
    assert.equal((await ftp.restOffsets()).length, 1);
    assert.ok(
      seen(
        harness,
        started.guid,
        (s) => s.error?.code === 'BT_ERR_INVALID_RESPONSE' && /past the \d+ bytes SIZE/.test(s.error.message),
      ),
      'the extra bytes were noticed',
    );
    assert.ok(seen(harness, started.guid, (s) => s.progress.hasRestarted));
  });

  it('ftps:// (explicit FTPS): byte-exact with the test CA from extraCaCertificates; without it BT_ERR_CERT_UNTRUSTED', async () => {
    const certificates = await makeTestCertificates();
    const caPath = join(out.path, 'ca.pem');
    await writeFile(caPath, certificates.caCert);
    const ftp = await server('ftp-srv', false, { tls: certificates.valid });
    await writeFile(join(ftp.root, 'secure.bin'), BODY);
    const secure = (harness: EngineHarness, name: string): OperationSpec => {
      const spec = downloadSpec(harness, ftp, 'secure.bin', name);
      return { ...spec, requestedUri: spec.requestedUri.replace(/^ftp:/, 'ftps:') };
    };
    const untrusting = await engine();
    const refused = untrusting.engine.start(secure(untrusting, 'untrusted.bin'));
    const failed = await untrusting.waitFor(refused.guid, (s) => s.progress.status === S.error, 30_000);
    assert.equal(failed.error?.code, 'BT_ERR_CERT_UNTRUSTED');
    await untrusting.close();

    const harness = await engine({ extraCaCertificates: [caPath] });
    const started = harness.engine.start(secure(harness, 'secure.bin'));
    await harness.waitFor(started.guid, (s) => s.progress.status === S.completed, 60_000);
    assert.equal(sha256(await readFile(join(out.path, 'secure.bin'))), sha256(BODY));
  });

  it('a server that stops sending (vsftpd stopped): BT_ERR_STALLED after stallTimeoutMs, then REST completes it', async () => {
    const harness = await engine({ stallTimeoutMs: 1500 });
    const ftp = await server('vsftpd', true);
    await writeFile(join(ftp.root, 'stall.bin'), BODY);
    const started = harness.engine.start(downloadSpec(harness, ftp, 'stall.bin', 'stall.bin'));
    await harness.waitFor(started.guid, (s) => s.progress.bytesReceived >= MIB, 60_000);
    await ftp.freezeSessions();
    await harness.waitFor(started.guid, (s) => s.progress.status === S.completed, 60_000);
    assert.equal(sha256(await readFile(join(out.path, 'stall.bin'))), sha256(BODY));
    assert.ok(
      seen(harness, started.guid, (s) => s.error?.code === 'BT_ERR_STALLED'),
      'the stall was reported',
    );
    assert.equal((await ftp.restOffsets()).length, 1, 'the retry continued with REST');
    await ftp.cutSessions();
  });

  it('pause keeps the partial file and resume continues it with REST; cancel removes it', async () => {
    const harness = await engine();
    const ftp = await server('ftp-srv', true);
    await writeFile(join(ftp.root, 'paused.bin'), BODY);
    const started = harness.engine.start(downloadSpec(harness, ftp, 'paused.bin', 'paused.bin'));
    await harness.waitFor(started.guid, (s) => s.progress.bytesReceived >= MIB, 60_000);
    harness.engine.pause(started.guid);
    await harness.waitFor(started.guid, (s) => s.progress.status === S.pausedByApplication, 10_000);
    await sleep(200);
    assert.equal((await leftovers('paused.bin')).length, 1, 'the partial file stays while paused');
    harness.engine.resume(started.guid);
    await harness.waitFor(started.guid, (s) => s.progress.status === S.completed, 60_000);
    assert.equal(sha256(await readFile(join(out.path, 'paused.bin'))), sha256(BODY));
    assert.equal((await ftp.restOffsets()).length, 1);

    const canceled = harness.engine.start(downloadSpec(harness, ftp, 'paused.bin', 'canceled.bin'));
    await harness.waitFor(canceled.guid, (s) => s.progress.bytesReceived >= MIB, 60_000);
    harness.engine.cancel(canceled.guid);
    await harness.waitFor(canceled.guid, (s) => s.progress.status === S.canceled, 10_000);
    // The stopped request may still be closing the file: it is removed once that request has wound down.
    for (let waited = 0; (await leftovers('canceled.bin')).length > 0; waited += 50) {
      assert.ok(waited < 5_000, 'the partial file was removed');
      await sleep(50);
    }
    await sleep(300);
    assert.deepEqual(await leftovers('canceled.bin'), [], 'and not created again by the winding-down request');
  });

  it("the app's expectedContentDigest is checked: a mismatch is BT_ERR_DIGEST_MISMATCH, nothing published", async () => {
    const harness = await engine();
    const ftp = await server('ftp-srv', false);
    await writeFile(join(ftp.root, 'digest.bin'), BODY);
    const spec = downloadSpec(harness, ftp, 'digest.bin', 'digest.bin');
    const wrong = `sha-256=:${createHash('sha256').update('other').digest('base64')}:`;
    const started = harness.engine.start({
      ...spec,
      extras: { ...DEFAULT_REQUEST_EXTRAS, ...spec.extras, expectedContentDigest: wrong },
    });
    const done = await harness.waitFor(started.guid, (s) => s.progress.status === S.error, 30_000);
    assert.equal(done.error?.code, 'BT_ERR_DIGEST_MISMATCH');
    assert.deepEqual(await readdir(out.path).then((names) => names.filter((n) => n.includes('digest.bin'))), []);
  });
});
