import assert from 'node:assert/strict';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { uploadFtp } from '../../src/protocols/ftp/ftp-upload.ts';
import type { BodySource } from '../../src/source/body-source.ts';
import { startFtpSrv, type TestFtpServer } from '../helpers/ftp-servers.ts';
import {
  BIG_SIZE,
  big,
  bodyOf,
  inputFor,
  MiB,
  rejection,
  SMALL_SIZE,
  sha256File,
  small,
  transferErrorOf,
  useFtpFiles,
} from '../helpers/ftp-upload-kit.ts';
import type { RandomFile } from '../helpers/temp-dir.ts';
import { startVsftpd } from '../helpers/vsftpd.ts';

/**
 * uploadFtp against two servers: ftp-srv in-process and Debian's vsftpd as a real daemon
 * (test/helpers/ftp-servers.ts, vsftpd.ts). Every stored file is compared by sha256 with its source.
 * Servers without some commands, no server at all: ftp-upload-fallbacks.test.ts; FTPS: ftps-upload.test.ts.
 */

/** Where the resume test cuts the first attempt: an odd offset, not on any chunk boundary. */
const CUT_AT = 7 * MiB + 12_345;

useFtpFiles();

/**
 * The body of `file`, except that the first read holds still after `gateAt` bytes until `release()`:
 * the test then knows exactly how much the server got before it cuts or aborts.
 */
function gatedBody(file: RandomFile, gateAt: number) {
  const inner = bodyOf(file);
  let signalReached: () => void = () => {};
  let release: () => void = () => {};
  const reached = new Promise<void>((resolve) => {
    signalReached = resolve;
  });
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let gated = false;
  const body: BodySource = {
    size: inner.size,
    async *read(start) {
      let offset = start;
      for await (const chunk of inner.read(start)) {
        const end = offset + chunk.byteLength;
        if (!gated && offset < gateAt && end >= gateAt) {
          gated = true;
          yield chunk.subarray(0, gateAt - offset);
          signalReached();
          await released;
          yield chunk.subarray(gateAt - offset);
        } else {
          yield chunk;
        }
        offset = end;
      }
    },
  };
  return { body, reached, release };
}

async function waitForFileSize(path: string, size: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const current = await stat(path).then(
      (info) => info.size,
      () => -1,
    );
    if (current === size) return;
    if (Date.now() > deadline) assert.fail(`${path} has ${current} bytes, expected ${size}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const SERVERS: ReadonlyArray<{ kind: string; start: () => Promise<TestFtpServer> }> = [
  { kind: 'ftp-srv', start: () => startFtpSrv() },
  { kind: 'vsftpd', start: () => startVsftpd() },
];

for (const { kind, start } of SERVERS) {
  describe(`uploadFtp to ${kind}`, () => {
    let server: TestFtpServer;
    before(async () => {
      server = await start();
    });
    after(() => server?.stop());

    test('STOR of a 20 MiB file is byte-exact on disk', async (t) => {
      const offsets: number[] = [];
      let lastSent = -1;
      const started = performance.now();
      const result = await uploadFtp(
        inputFor(`${server.url}big-stor.bin`, {
          body: bodyOf(big),
          credentials: server.login,
          onOffset: (offset) => offsets.push(offset),
          onBytesSent: (absolute) => {
            lastSent = absolute;
          },
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      t.diagnostic(
        `${kind}: STOR ${BIG_SIZE} bytes in ${seconds.toFixed(3)} s = ${(BIG_SIZE / MiB / seconds).toFixed(0)} MiB/s`,
      );

      assert.deepEqual(result, {
        bytesStored: BIG_SIZE,
        startOffset: 0,
        bytesSent: BIG_SIZE,
        restarted: false,
        restartReason: null,
        sizeVerified: true,
        appendBase: null,
      });
      assert.equal(lastSent, BIG_SIZE);
      assert.deepEqual(offsets, [BIG_SIZE]);
      assert.equal(await sha256File(join(server.root, 'big-stor.bin')), big.sha256);
    });

    test('an empty body stores an empty file, its size verified (resumed too)', async () => {
      const empty: BodySource = {
        size: 0,
        async *read() {},
      };
      for (const resume of [false, true]) {
        const result = await uploadFtp(
          inputFor(`${server.url}empty-${resume}.bin`, { body: empty, credentials: server.login, resume }),
        );
        assert.equal(result.bytesStored, 0);
        assert.equal((await stat(join(server.root, `empty-${resume}.bin`))).size, 0);
        // ftp-srv answers SIZE of an empty file with "213 File status": a size it does not tell.
        assert.equal(result.sizeVerified, kind === 'vsftpd', `sizeVerified: ${result.sizeVerified}`);
      }
    });

    test('creates the missing directories of a nested path (credentials from the URL)', async () => {
      const { userName, password } = server.login;
      const url = new URL(`${server.url}new%20dir/sub/deeper/file.bin`);
      url.username = encodeURIComponent(userName);
      url.password = encodeURIComponent(password);
      const result = await uploadFtp(inputFor(url.href));
      assert.equal(result.bytesStored, SMALL_SIZE);
      assert.equal(await sha256File(join(server.root, 'new dir', 'sub', 'deeper', 'file.bin')), small.sha256);

      // The directories exist now: a second upload into them only enters them.
      await uploadFtp(inputFor(url.href.replace('file.bin', 'second.bin')));
      assert.equal(await sha256File(join(server.root, 'new dir', 'sub', 'deeper', 'second.bin')), small.sha256);
    });

    test('a refused login is BT_ERR_AUTH_FAILED, and the password is in no message', async () => {
      const password = 'Wrong-Secret-9d2b';
      const error = await transferErrorOf(
        uploadFtp(inputFor(`${server.url}denied.bin`, { credentials: { userName: server.login.userName, password } })),
      );
      assert.equal(error.code, 'BT_ERR_AUTH_FAILED');
      assert.equal(error.retryable, false);
      assert.equal(error.number, 0x80072eef | 0);
      assert.match(error.message, /\b530\b/);
      assert.ok(!JSON.stringify(error.toJSON()).includes(password), error.message);
      assert.ok(!String(error.stack).includes(password));
      await assert.rejects(stat(join(server.root, 'denied.bin')), { code: 'ENOENT' });

      // The same with the password in the URL: messages name the URL without its user info.
      const url = new URL(`${server.url}denied.bin`);
      url.username = server.login.userName;
      url.password = password;
      const fromUrl = await transferErrorOf(uploadFtp(inputFor(url.href)));
      assert.equal(fromUrl.code, 'BT_ERR_AUTH_FAILED');
      assert.ok(!fromUrl.message.includes(password), fromUrl.message);
    });

    test('a path through a regular file is BT_ERR_FTP_PERMANENT (550)', async () => {
      await writeFile(join(server.root, 'blocker'), 'not a directory');
      const error = await transferErrorOf(
        uploadFtp(inputFor(`${server.url}blocker/file.bin`, { credentials: server.login })),
      );
      assert.equal(error.code, 'BT_ERR_FTP_PERMANENT');
      assert.equal(error.retryable, false);
      assert.match(error.message, /\b550\b/);
    });

    test('resumes after the server cut the connection mid-way, sending only the rest', async (t) => {
      const target = join(server.root, 'resume', 'big.bin');
      const gate = gatedBody(big, CUT_AT);
      const first = uploadFtp(inputFor(`${server.url}resume/big.bin`, { body: gate.body, credentials: server.login }));
      first.catch(() => {}); // awaited below; keeps an early rejection from counting as unhandled
      await gate.reached;
      await waitForFileSize(target, CUT_AT);
      await server.cutSessions();
      gate.release();
      const cut = await transferErrorOf(first);
      t.diagnostic(`${kind}: first attempt ended with ${cut.code}: ${cut.message}`);
      assert.equal(cut.retryable, true);
      assert.ok(['BT_ERR_CONNECTION_RESET', 'BT_ERR_CONNECTION_ABORTED'].includes(cut.code), cut.code);
      const held = (await stat(target)).size;
      assert.equal(held, CUT_AT);

      const offsets: number[] = [];
      const sent: number[] = [];
      const result = await uploadFtp(
        inputFor(`${server.url}resume/big.bin`, {
          body: bodyOf(big),
          credentials: server.login,
          resume: true,
          onOffset: (offset) => offsets.push(offset),
          onBytesSent: (absolute) => sent.push(absolute),
        }),
      );
      t.diagnostic(
        `${kind}: size ${BIG_SIZE}, server had ${held}, second attempt sent ${result.bytesSent} ` +
          `(size - held = ${BIG_SIZE - held}), progress ${sent[0]} → ${sent.at(-1)}`,
      );
      assert.equal(result.startOffset, held);
      assert.equal(result.bytesSent, BIG_SIZE - held);
      assert.equal(result.restarted, false);
      assert.deepEqual(offsets, [held, BIG_SIZE]);
      assert.equal(sent[0], held);
      assert.equal(sent.at(-1), BIG_SIZE);
      assert.equal(await sha256File(target), big.sha256);

      // Resuming a file the server already has in full sends nothing.
      const again = await uploadFtp(
        inputFor(`${server.url}resume/big.bin`, { body: bodyOf(big), credentials: server.login, resume: true }),
      );
      assert.equal(again.bytesSent, 0);
      assert.equal(again.startOffset, BIG_SIZE);
      assert.equal(await sha256File(target), big.sha256);
    });

    test('a resume starts over when the server has more bytes than the body', async () => {
      await mkdir(join(server.root, 'longer'), { recursive: true });
      const target = join(server.root, 'longer', 'file.bin');
      await writeFile(target, Buffer.alloc(SMALL_SIZE + 100, 7));
      const result = await uploadFtp(
        inputFor(`${server.url}longer/file.bin`, { credentials: server.login, resume: true }),
      );
      assert.equal(result.restarted, true);
      assert.match(result.restartReason ?? '', new RegExp(`${SMALL_SIZE + 100} bytes, more than`));
      assert.equal(result.startOffset, 0);
      assert.equal(result.bytesSent, SMALL_SIZE);
      assert.equal(await sha256File(target), small.sha256);
    });

    test('APPE appends the body to what the file had', async () => {
      await writeFile(join(server.root, 'log.bin'), 'head:');
      const bases: number[] = [];
      const result = await uploadFtp(
        inputFor(`${server.url}log.bin`, {
          method: 'APPE',
          credentials: server.login,
          onAppendBase: (base) => bases.push(base),
        }),
      );
      assert.deepEqual(bases, [5]);
      assert.equal(result.appendBase, 5);
      assert.equal(result.sizeVerified, true);
      assert.equal((await stat(join(server.root, 'log.bin'))).size, 5 + SMALL_SIZE);
    });

    test('a resumed APPE whose file the server dropped (appendBase 0) starts over and says so', async () => {
      // An earlier attempt appended to a new file (appendBase 0); the server has no file now.
      const restarts: string[] = [];
      const offsets: number[] = [];
      const result = await uploadFtp(
        inputFor(`${server.url}appe-gone.bin`, {
          method: 'APPE',
          credentials: server.login,
          resume: true,
          appendBase: 0,
          onOffset: (offset) => offsets.push(offset),
          onRestart: (reason) => restarts.push(reason),
        }),
      );
      assert.equal(result.restarted, true);
      assert.match(result.restartReason ?? '', /no longer has the partial file/);
      assert.deepEqual(restarts, [result.restartReason]);
      assert.equal(result.startOffset, 0);
      assert.equal(result.bytesSent, SMALL_SIZE);
      assert.deepEqual(offsets, [0, SMALL_SIZE]);
      assert.equal(await sha256File(join(server.root, 'appe-gone.bin')), small.sha256);
    });

    test('a server that stops reading is BT_ERR_STALLED after stallTimeoutMs', async () => {
      const gate = gatedBody(big, 2 * MiB);
      const attempt = uploadFtp(
        inputFor(`${server.url}stalled.bin`, { body: gate.body, credentials: server.login, stallTimeoutMs: 300 }),
      );
      attempt.catch(() => {});
      await gate.reached;
      await waitForFileSize(join(server.root, 'stalled.bin'), 2 * MiB);
      await server.freezeSessions();
      const frozenAt = performance.now();
      gate.release();
      const error = await transferErrorOf(attempt);
      const waited = performance.now() - frozenAt;
      await server.cutSessions();
      assert.equal(error.code, 'BT_ERR_STALLED', error.message);
      assert.equal(error.retryable, true);
      // The watchdog allows the timeout plus, once, the same again after our own source held it up.
      assert.ok(waited >= 300 && waited < 3_000, `stalled after ${waited.toFixed(0)} ms`);
    });

    test('aborting rejects with the signal reason as it is', async () => {
      const gate = gatedBody(big, 3 * MiB);
      const controller = new AbortController();
      const attempt = uploadFtp(
        inputFor(`${server.url}aborted.bin`, {
          body: gate.body,
          credentials: server.login,
          signal: controller.signal,
        }),
      );
      attempt.catch(() => {});
      await gate.reached;
      const reason = new Error('paused by the test');
      const abortedAt = performance.now();
      controller.abort(reason);
      gate.release();
      assert.equal(await rejection(attempt), reason);
      assert.ok(performance.now() - abortedAt < 1_000, 'the abort took effect at once');
    });
  });
}
