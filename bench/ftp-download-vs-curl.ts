import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startVsftpd } from '../test/helpers/vsftpd.ts';
import { cliDownload, type DownloadRun } from './download-sides.ts';
import { createRandomFile } from './random-file.ts';
import { benchEnvironment, writeBenchResult } from './result-file.ts';
import { mebibytes, median, megabytesPerSecond } from './stats.ts';
import { assertGnuTime, timedRun } from './timed-run.ts';
import { startHost, stopHost } from './transfer-host.ts';

/**
 * FTP download throughput, CPU and peak memory of the built CLI's `bgtransfer download ftp://…` against
 * `curl -o FILE ftp://…`, both from Debian's vsftpd over loopback (logged in with the test login).
 *
 *   node --conditions=source --import tsx bench/ftp-download-vs-curl.ts [--size-mib 1024] [--runs 3] [--cli dist/cli/main.js]
 *
 * Each round runs curl and the CLI (through a host that is already running) back to back, alternating
 * which goes first; each ratio is against the same round's curl. A run counts only if the file it wrote
 * has the served sha256. Prints a markdown table and writes bench/results/ftp-download-vs-curl-<time>.json.
 */

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    runs: { type: 'string', default: '3' },
    cli: { type: 'string', default: join(ROOT, 'dist/cli/main.js') },
  },
});
const CLI = values.cli;
const sizeMib = Number(values['size-mib']);
const runCount = Number(values.runs);
if (!Number.isInteger(sizeMib) || sizeMib < 1 || !Number.isInteger(runCount) || runCount < 1) {
  throw new Error('--size-mib and --runs must be positive integers');
}
const sizeBytes = sizeMib * 1024 * 1024;
assertGnuTime();
if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);

interface Round {
  round: number;
  first: 'curl' | 'bgtransfer';
  curl: DownloadRun;
  bgtransfer: DownloadRun;
}

const loadBefore = loadavg();
const workDir = await mkdtemp(join(tmpdir(), 'bgtransfer-bench-ftp-get-'));
const vsftpd = await startVsftpd();
const rounds: Round[] = [];
let host: Awaited<ReturnType<typeof startHost>> | undefined;
try {
  process.stderr.write(`writing ${sizeMib} MiB of random data for vsftpd\n`);
  const sha256 = await createRandomFile(join(vsftpd.root, 'random.bin'), sizeBytes);
  const url = new URL(`${vsftpd.url}random.bin`);
  url.username = vsftpd.login.userName;
  url.password = vsftpd.login.password;
  const hostHome = join(workDir, 'host-home');
  host = await startHost(CLI, hostHome);
  const env = { ...process.env, BGTRANSFER_HOST: 'auto', BGTRANSFER_HOME: hostHome };
  const out = join(workDir, 'downloaded.bin');
  for (let round = 1; round <= runCount; round++) {
    const first = round % 2 === 1 ? 'curl' : 'bgtransfer';
    const measure = (side: 'curl' | 'bgtransfer') =>
      side === 'curl'
        ? curlFtpDownload(url.href, out, sha256)
        : cliDownload(CLI, env, host?.pid ?? -1, url.href, out, sha256);
    const a = await measure(first);
    const b = await measure(first === 'curl' ? 'bgtransfer' : 'curl');
    const [curl, bgtransfer] = first === 'curl' ? [a, b] : [b, a];
    rounds.push({ round, first, curl, bgtransfer });
    for (const [side, result] of [
      ['curl', curl],
      ['bgtransfer', bgtransfer],
    ] as const) {
      const status = result.ok ? 'ok' : `FAILED (exit ${result.run.exitCode}) ${result.run.stderr.trim().slice(-300)}`;
      process.stderr.write(`round ${round} ${side}: ${status} ${result.run.wallSeconds.toFixed(2)} s wall\n`);
    }
  }
} finally {
  await stopHost(host);
  await vsftpd.stop();
  await rm(workDir, { recursive: true, force: true });
}

const valid = rounds.filter((round) => round.curl.ok && round.bgtransfer.ok);
const medianOf = (pick: (round: Round) => number) => median(valid.map(pick));
const summary = {
  curlWallSeconds: medianOf((r) => r.curl.run.wallSeconds),
  bgtransferWallSeconds: medianOf((r) => r.bgtransfer.run.wallSeconds),
  wallRatio: medianOf((r) => r.bgtransfer.run.wallSeconds / r.curl.run.wallSeconds),
  curlCpuSeconds: medianOf((r) => r.curl.run.cpuSeconds),
  bgtransferCpuSeconds: medianOf((r) => r.bgtransfer.run.cpuSeconds),
  hostCpuSeconds: medianOf((r) => r.bgtransfer.hostCpuSeconds ?? Number.NaN),
  cpuRatio: medianOf((r) => r.bgtransfer.run.cpuSeconds / r.curl.run.cpuSeconds),
  curlPeakRssBytes: medianOf((r) => r.curl.run.maxRssBytes),
  cliPeakRssBytes: medianOf((r) => r.bgtransfer.run.maxRssBytes),
  hostPeakRssBytes: Math.max(...valid.map((r) => r.bgtransfer.hostPeakRssBytes ?? 0)),
};
const mbs = (seconds: number) => megabytesPerSecond(sizeBytes, seconds).toFixed(0);
const mib = (bytes: number) => `${mebibytes(bytes).toFixed(1)} MiB`;
const loadAfter = loadavg();
console.log(
  [
    `FTP GET ${sizeMib} MiB over loopback from vsftpd: ${valid.length} of ${rounds.length} paired rounds valid; medians; load ${loadBefore[0]?.toFixed(1)} → ${loadAfter[0]?.toFixed(1)}`,
    '',
    '| measure | curl -o | bgtransfer download (CLI + host) | ratio |',
    '|---|---|---|---|',
    `| wall | ${summary.curlWallSeconds.toFixed(2)} s (${mbs(summary.curlWallSeconds)} MB/s) | ${summary.bgtransferWallSeconds.toFixed(2)} s (${mbs(summary.bgtransferWallSeconds)} MB/s) | ${summary.wallRatio.toFixed(2)} |`,
    `| CPU | ${summary.curlCpuSeconds.toFixed(2)} s | ${summary.bgtransferCpuSeconds.toFixed(2)} s (host ${summary.hostCpuSeconds.toFixed(2)} s) | ${summary.cpuRatio.toFixed(2)} |`,
    `| peak RSS | ${mib(summary.curlPeakRssBytes)} | CLI ${mib(summary.cliPeakRssBytes)}, host ${mib(summary.hostPeakRssBytes)} | |`,
  ].join('\n'),
);
const date = new Date();
const resultPath = await writeBenchResult('ftp-download-vs-curl', date, {
  benchmark: 'ftp-download-vs-curl',
  date: date.toISOString(),
  sizeBytes,
  server: 'vsftpd',
  cli: CLI,
  environment: benchEnvironment(loadBefore),
  units: { seconds: 's', rss: 'bytes' },
  summary,
  // The URL of each run carries the test server's throwaway login; the results keep only the commands' names.
  rounds: rounds.map(({ round, first, curl, bgtransfer }) => ({
    round,
    first,
    curl: { ...curl, run: { ...curl.run, stdout: '', stderr: '' } },
    bgtransfer: { ...bgtransfer, run: { ...bgtransfer.run, stdout: '', stderr: '' } },
  })),
});
console.log(`\nresults: ${resultPath}`);
if (valid.length < rounds.length) {
  console.error(`${rounds.length - valid.length} round(s) had a failed or corrupted download`);
  process.exitCode = 1;
}

/** `curl -o FILE ftp://…`: counts if curl's last reply was 226 (transfer complete) and the file is whole. */
async function curlFtpDownload(url: string, out: string, sha256: string): Promise<DownloadRun> {
  const run = await timedRun('curl', ['-sS', '-o', out, '-w', '%{response_code}', url]);
  const ok = run.exitCode === 0 && run.stdout.trim() === '226' && (await fileSha256(out)) === sha256;
  await rm(out, { force: true });
  return { run, ok };
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch {
    return '';
  }
  return hash.digest('hex');
}
