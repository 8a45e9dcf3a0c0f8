import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BackgroundDownloader, BackgroundTransferStatus, closeAsync, type DownloadOperation } from '../../src/index.ts';
import { hostStatus, stopHost } from '../../src/ipc/host-control.ts';
import { type ApiHome, useApiHome } from '../helpers/api-home.ts';
import { describeRun, runBgtransfer } from '../helpers/cli-run.ts';
import type { TestFtpServer } from '../helpers/ftp-servers.ts';
import { fileSizeIfPresent, makeTempDir, type TempDir } from '../helpers/temp-dir.ts';
import { startVsftpd } from '../helpers/vsftpd.ts';

/**
 * FTP downloads as apps and users meet them: through the public API and a real transfer host
 * (BGTRANSFER_HOST=auto) that is SIGKILLed mid-download, and through `bgtransfer download ftp://…`,
 * against Debian's vsftpd sending at most 2 MiB/s. The command line's FTP upload is checked beside it: both
 * end without a response, which the CLI takes as success.
 */
const MIB = 1024 * 1024;
const BODY = randomBytes(8 * MIB + 99);
let vsftpd: TestFtpServer;
let out: TempDir;
let home: ApiHome | undefined;

before(async () => {
  vsftpd = await startVsftpd({ maxBytesPerSecond: 2 * MIB });
  out = await makeTempDir('ftp-download-host-');
  await writeFile(join(vsftpd.root, 'served.bin'), BODY);
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
  await vsftpd.stop();
  await out.cleanup();
});

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The first `count` bytes of `stream`; then it is closed. */
async function firstBytes(stream: NodeJS.ReadableStream & { destroy(): void }, count: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).byteLength;
    if (length >= count) break;
  }
  stream.destroy();
  return Buffer.concat(chunks).subarray(0, count);
}

/** The served file's URL with the test login in its userinfo, as a user would type it. */
function urlWithLogin(path: string): string {
  const url = new URL(`${vsftpd.url}${path}`);
  url.username = vsftpd.login.userName;
  url.password = vsftpd.login.password;
  return url.href;
}

test('host SIGKILLed mid-download: the next host continues with REST from the fsynced bytes, byte-exact', async () => {
  home = await useApiHome({ retryBaseDelayMs: 50 }, 'ftp-download-kill');
  process.env.BGTRANSFER_HOST = 'auto';
  const resultPath = join(out.path, 'killed.bin');
  const downloader = new BackgroundDownloader();
  downloader.serverCredential = vsftpd.login;
  const download = downloader.createDownload(`${vsftpd.url}served.bin`, resultPath);
  download.isRandomAccessRequired = true;
  let restartedReports = 0;
  // A report still saying "running" can reach the app after the host renamed the partial file onto the
  // result; what must never be seen is a result file holding less than the whole body.
  let partialResultSeen = false;
  const done = Promise.resolve(
    download.startAsync().then(undefined, undefined, (op: DownloadOperation) => {
      if (op.progress.hasRestarted) restartedReports += 1;
      const size = fileSizeIfPresent(resultPath);
      if (size !== undefined && size !== BODY.length) partialResultSeen = true;
    }),
  );
  for (let waited = 0; download.progress.bytesReceived < 2 * MIB; waited += 50) {
    assert.ok(waited < 60_000, 'the download got going');
    await sleep(50);
  }
  // getResultStreamAt reads the partial file while the download runs.
  const head = await firstBytes(download.getResultStreamAt(MIB), MIB);
  assert.ok(head.equals(BODY.subarray(MIB, 2 * MIB)), 'the second MiB read while running is the served one');
  const fsynced = download.progress.bytesReceived;
  const status = await hostStatus(home.home);
  assert.ok(status, 'a host runs');
  process.kill(status.pid, 'SIGKILL');
  const finished = await done;
  assert.equal(finished.progress.status, BackgroundTransferStatus.completed);
  assert.equal(sha256(await readFile(resultPath)), sha256(BODY));
  assert.equal(partialResultSeen, false, 'the result file never held a partial body');
  assert.equal(restartedReports, 0, 'continued, not restarted');
  const rests = await vsftpd.restOffsets();
  assert.equal(rests.length, 1, `one REST: ${JSON.stringify(rests)}`);
  assert.ok((rests[0] ?? 0) >= fsynced, `REST ${rests[0]} from at least the ${fsynced} bytes reported fsynced`);
  assert.equal(finished.getResponseInformation(), null, 'no response information over FTP (R43)');
  assert.deepEqual(
    (await readdir(out.path)).filter((name) => name.includes('killed')),
    ['killed.bin'],
  );
});

test('bgtransfer download ftp://user:password@…: exit 0, byte-exact, and the password in no line of output', async () => {
  const dir = join(out.path, 'cli');
  await mkdir(dir);
  const env = { BGTRANSFER_HOME: join(out.path, 'home-cli'), BGTRANSFER_HOST: 'inproc' };
  const run = await runBgtransfer(['download', urlWithLogin('served.bin'), join(dir, 'cli.bin')], env);
  assert.equal(run.code, 0, describeRun(run));
  assert.equal(sha256(await readFile(join(dir, 'cli.bin'))), sha256(BODY));
  assert.match(
    run.stdout.at(-1) ?? '',
    /^completed: 8\.0 MiB received from ftp:\/\/127\.0\.0\.1:\d+\/served\.bin into .*cli\.bin$/,
  );
  const all = [...run.stdout, ...run.stderr].join('\n');
  assert.ok(!all.includes(vsftpd.login.password), describeRun(run));

  const wrong = urlWithLogin('served.bin').replace(encodeURIComponent(vsftpd.login.password), 'pw-Bad-5150');
  const refused = await runBgtransfer(['download', wrong, join(dir, 'refused.bin')], env);
  assert.equal(refused.code, 1, describeRun(refused));
  const text = [...refused.stdout, ...refused.stderr].join('\n');
  assert.match(
    text,
    /FTP login as anonymous at ftp:\/\/127\.0\.0\.1:\d+\/served\.bin: the server answered 530.*\(BT_ERR_AUTH_FAILED\)/,
  );
  assert.ok(!text.includes('pw-Bad-5150'), describeRun(refused));
  assert.deepEqual(await readdir(dir), ['cli.bin']);

  // The same holds for an FTP upload from the command line: completed without an answer is success.
  const up = await runBgtransfer(['upload', join(dir, 'cli.bin'), urlWithLogin('up/cli.bin')], env);
  assert.equal(up.code, 0, describeRun(up));
  assert.match(up.stdout.at(-1) ?? '', /^completed: 8\.0 MiB sent to ftp:\/\/127\.0\.0\.1:\d+\/up\/cli\.bin$/);
  assert.equal(sha256(await readFile(join(vsftpd.root, 'up', 'cli.bin'))), sha256(BODY));
});
