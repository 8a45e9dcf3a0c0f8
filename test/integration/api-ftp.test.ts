import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BackgroundTransferStatus, BackgroundUploader, type UploadOperation } from '../../src/index.ts';
import { type ApiHome, useApiHome } from '../helpers/api-home.ts';
import { startFtpSrv, type TestFtpServer } from '../helpers/ftp-servers.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startVsftpd } from '../helpers/vsftpd.ts';

/**
 * FTP uploads through the public API (in-process engine) against ftp-srv in-process and
 * Debian's vsftpd as a real daemon. What is stored is compared with the source on the server's disk.
 */

const MiB = 1024 * 1024;

let files: TempDir;
let small: RandomFile;
let big: RandomFile;
let home: ApiHome | undefined;

before(async () => {
  files = await makeTempDir('bgtransfer-api-ftp-');
  [small, big] = await Promise.all([
    writeRandomFile(files.path, 'small.bin', 3 * MiB + 17),
    writeRandomFile(files.path, 'big.bin', 48 * MiB + 5),
  ]);
});
afterEach(async () => {
  await home?.cleanup();
  home = undefined;
});
after(() => files.cleanup());

async function sha256Of(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

async function failureOf(operation: UploadOperation): Promise<Error & { code: string; number: number }> {
  try {
    await operation.startAsync();
  } catch (error) {
    return error as Error & { code: string; number: number };
  }
  assert.fail('expected the upload to fail');
}

const SERVERS = [
  ['ftp-srv', () => startFtpSrv()],
  ['vsftpd', () => startVsftpd()],
] as const;

for (const [kind, startServer] of SERVERS) {
  describe(`FTP through the API: ${kind}`, () => {
    let server: TestFtpServer;
    before(async () => {
      server = await startServer();
    });
    after(() => server?.stop());

    /** vsftpd takes no anonymous login without a password from its list: it gets the test login. */
    function uploader(): BackgroundUploader {
      const result = new BackgroundUploader();
      if (kind === 'vsftpd') result.serverCredential = server.login;
      return result;
    }

    test('createUpload(ftp://…/dir/file.bin) defaults to STOR; the file is byte-exact on disk; no response information (R43)', async () => {
      home = await useApiHome({}, `ftp-${kind}`);
      const operation = uploader().createUpload(`${server.url}dir/sub/file.bin`, small.path);
      assert.equal(operation.method, 'STOR');
      assert.equal(operation.progress.totalBytesToSend, small.size);
      await operation.startAsync();
      assert.equal(operation.progress.status, BackgroundTransferStatus.completed);
      assert.equal(operation.progress.bytesSent, small.size);
      assert.equal(await sha256Of(join(server.root, 'dir/sub/file.bin')), small.sha256);
      assert.equal(operation.getResponseInformation(), null, 'R43: FTP has no HTTP response');
      const [enumerated] = await BackgroundUploader.getCurrentUploadsAsync();
      assert.equal(enumerated?.getResponseInformation(), null);
      assert.equal(enumerated?.progress.status, BackgroundTransferStatus.completed);
    });

    test('serverCredential logs in; a wrong password is BT_ERR_AUTH_FAILED with the password in no message', async () => {
      home = await useApiHome({ retryBaseDelayMs: 10 }, `ftp-auth-${kind}`);
      const good = new BackgroundUploader();
      good.serverCredential = server.login;
      const stored = good.createUpload(`${server.url}auth/ok.bin`, small.path);
      await stored.startAsync();
      assert.equal(await sha256Of(join(server.root, 'auth/ok.bin')), small.sha256);

      const password = `Wr0ng-${kind}-s3cret-${process.pid}`;
      const bad = new BackgroundUploader();
      // ftp-srv: the user alice; vsftpd: anonymous with a password from its list.
      bad.serverCredential = { userName: server.login.userName, password };
      const refused = bad.createUpload(`${server.url}auth/refused.bin`, small.path);
      const error = await failureOf(refused);
      assert.equal(error.code, 'BT_ERR_AUTH_FAILED');
      assert.equal(refused.progress.status, BackgroundTransferStatus.error);
      assert.equal(existsSync(join(server.root, 'auth/refused.bin')), false);
      const [enumerated] = [...(await BackgroundUploader.getCurrentUploadsAsync())].filter(
        (op) => op.guid === refused.guid,
      );
      for (const text of [error.message, String(error.stack), JSON.stringify(error), JSON.stringify(enumerated)]) {
        assert.equal(text.includes(password), false, `the password leaked: ${text.slice(0, 300)}`);
      }

      // The same with the login in the URI (RFC 1738 user:password@): refused, and not in the error.
      const inUri = new URL(`${server.url}auth/uri.bin`);
      inUri.username = encodeURIComponent(server.login.userName);
      inUri.password = encodeURIComponent(`${password}-uri`);
      const uriError = await failureOf(new BackgroundUploader().createUpload(inUri.href, small.path));
      assert.equal(uriError.code, 'BT_ERR_AUTH_FAILED');
      for (const text of [uriError.message, String(uriError.stack), JSON.stringify(uriError)]) {
        assert.equal(text.includes(`${password}-uri`), false, `the password leaked: ${text.slice(0, 300)}`);
      }
    });

    test('pause() mid-upload and resume(): completes, and the second transfer sends only the rest', async () => {
      home = await useApiHome({}, `ftp-resume-${kind}`);
      const target = join(server.root, 'resume/big.bin');
      const operation = uploader().createUpload(`${server.url}resume/big.bin`, big.path);
      const progress: Array<{ atMs: number; bytesSent: number; status: number }> = [];
      const done = Promise.resolve(
        operation.startAsync().then(undefined, undefined, (op: UploadOperation) => {
          progress.push({ atMs: performance.now(), bytesSent: op.progress.bytesSent, status: op.progress.status });
        }),
      );
      done.catch(() => undefined);

      // As soon as the server has stored some bytes the app pauses (the client runs in this process, so
      // it sends nothing more meanwhile); then the server's sessions are cut so its file is final.
      await waitForSize(target, 1);
      await operation.pause();
      assert.equal(operation.progress.status, BackgroundTransferStatus.pausedByApplication);
      await server.cutSessions();
      const held = await stableSize(target);
      assert.ok(held > 0 && held < big.size, `the server holds ${held} of ${big.size} bytes`);

      // Mark the first byte the server holds: a transfer that sends only the rest leaves it as it is.
      const handle = await open(target, 'r+');
      const first = Buffer.alloc(1);
      await handle.read(first, 0, 1, 0);
      await handle.write(Buffer.from([first[0]! ^ 0xff]), 0, 1, 0);
      await handle.close();

      const resumedAtMs = performance.now();
      await operation.resume();
      await done;
      assert.equal(operation.progress.status, BackgroundTransferStatus.completed);
      assert.equal(statSync(target).size, big.size);
      const stored = await readFile(target);
      assert.equal(stored[0], first[0]! ^ 0xff, 'the bytes the server already had were not sent again');
      stored[0] = first[0]!;
      assert.equal(createHash('sha256').update(stored).digest('hex'), big.sha256, 'byte-exact after the mark');
      const afterResume = progress.filter((entry) => entry.atMs >= resumedAtMs && entry.bytesSent > 0);
      assert.ok(
        afterResume.every((entry) => entry.bytesSent >= held),
        `progress after resume went back below ${held}: ${afterResume.map((entry) => entry.bytesSent).join(', ')}`,
      );
      console.log(`${kind}: paused with ${held} of ${big.size} bytes on the server; resumed from there`);
    });
  });
}

async function waitForSize(path: string, atLeast: number, timeoutMs = 10_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const size = existsSync(path) ? statSync(path).size : -1;
    if (size >= atLeast) return size;
    if (performance.now() > deadline) throw new Error(`${path} did not reach ${atLeast} bytes`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** The file's size once it stopped changing for 100 ms. */
async function stableSize(path: string): Promise<number> {
  let last = statSync(path).size;
  for (;;) {
    await sleep(100);
    const now = statSync(path).size;
    if (now === last) return now;
    last = now;
  }
}
