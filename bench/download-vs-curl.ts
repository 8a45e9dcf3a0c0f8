import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startDownloadServer } from '../test/helpers/download-server.ts';
import { startNginx } from '../test/helpers/nginx.ts';
import { cliCanDownload, cliDownload, curlDownload, type DownloadRun } from './download-sides.ts';
import { createRandomFile } from './random-file.ts';
import { benchEnvironment, writeBenchResult } from './result-file.ts';
import { mebibytes, median, megabytesPerSecond } from './stats.ts';
import { assertGnuTime } from './timed-run.ts';
import { startHost, stopHost } from './transfer-host.ts';

/**
 * GET throughput, CPU and peak memory of the built CLI's `bgtransfer download` against `curl -o`.
 *
 *   node --conditions=source --import tsx bench/download-vs-curl.ts [--size-mib 1024] [--runs 3] [--server nginx|node] [--cli dist/cli/main.js] [--digest]
 *
 * One random file is served over loopback by Debian's nginx (sendfile, ranges, ETag; the default) or by
 * the node:http range server of the download tests. Each round runs curl and the CLI (through a host
 * that is already running) back to back, alternating which goes first, and each ratio is taken against
 * the same round's curl. A run counts only if the file it wrote has the served sha256. Prints a
 * markdown table and writes bench/results/download-vs-curl-<timestamp>.json. Needs `npm run build`.
 */

const ROOT = fileURLToPath(new URL('../', import.meta.url));

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    runs: { type: 'string', default: '3' },
    server: { type: 'string', default: 'nginx' },
    /** Another build's CLI (e.g. a copy of dist/ from before a change), for paired before/after runs. */
    cli: { type: 'string', default: join(ROOT, 'dist/cli/main.js') },
    /** node server only: answers carry a sha-256 Repr-Digest, which bgtransfer checks (curl does not). */
    digest: { type: 'boolean', default: false },
  },
});
const CLI = values.cli;
const sizeMib = positiveInteger(values['size-mib'], '--size-mib');
const runCount = positiveInteger(values.runs, '--runs');
const serverKind = values.server === 'node' ? 'node' : values.server === 'nginx' ? 'nginx' : undefined;
if (serverKind === undefined) throw new Error(`--server must be nginx or node, got ${values.server}`);
const sizeBytes = sizeMib * 1024 * 1024;

assertGnuTime();
if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
if (!(await cliCanDownload(CLI))) {
  console.error(`${CLI} has no download command yet: nothing to measure`);
  process.exit(2);
}

interface Round {
  round: number;
  first: 'curl' | 'bgtransfer';
  curl: DownloadRun;
  bgtransfer: DownloadRun;
}

const loadBefore = loadavg();
const workDir = await mkdtemp(join(tmpdir(), 'bgtransfer-bench-get-'));
const rounds: Round[] = [];
let stopServer: () => Promise<void> = async () => {};
let host: Awaited<ReturnType<typeof startHost>> | undefined;
try {
  let url: string;
  let sha256: string;
  if (serverKind === 'nginx') {
    const nginx = await startNginx();
    stopServer = () => nginx.stop();
    process.stderr.write(`writing ${sizeMib} MiB of random data for nginx\n`);
    sha256 = await createRandomFile(join(nginx.root, 'random.bin'), sizeBytes);
    url = `${nginx.davUrl}random.bin`;
  } else {
    const server = await startDownloadServer();
    stopServer = () => server.close();
    const file = join(workDir, 'random.bin');
    process.stderr.write(`writing ${sizeMib} MiB of random data to ${file}\n`);
    sha256 = await createRandomFile(file, sizeBytes);
    await server.serve(
      '/random.bin',
      file,
      values.digest ? { digests: [{ header: 'Repr-Digest', algorithm: 'sha-256' }] } : {},
    );
    url = `${server.url}/random.bin`;
  }
  const hostHome = join(workDir, 'host-home');
  host = await startHost(CLI, hostHome);
  const env = { ...process.env, BGTRANSFER_HOST: 'auto', BGTRANSFER_HOME: hostHome };
  const out = join(workDir, 'downloaded.bin');

  for (let round = 1; round <= runCount; round++) {
    const first = round % 2 === 1 ? 'curl' : 'bgtransfer';
    const measure = (side: 'curl' | 'bgtransfer') =>
      side === 'curl' ? curlDownload(url, out, sha256) : cliDownload(CLI, env, host?.pid ?? -1, url, out, sha256);
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
  await stopServer();
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
console.log(
  [
    `GET ${sizeMib} MiB over loopback from ${serverKind}: ${valid.length} of ${rounds.length} paired rounds valid; medians`,
    '',
    '| measure | curl -o | bgtransfer download (CLI + host) | ratio |',
    '|---|---|---|---|',
    `| wall | ${summary.curlWallSeconds.toFixed(2)} s (${mbs(summary.curlWallSeconds)} MB/s) | ${summary.bgtransferWallSeconds.toFixed(2)} s (${mbs(summary.bgtransferWallSeconds)} MB/s) | ${summary.wallRatio.toFixed(2)} |`,
    `| CPU | ${summary.curlCpuSeconds.toFixed(2)} s | ${summary.bgtransferCpuSeconds.toFixed(2)} s (host ${summary.hostCpuSeconds.toFixed(2)} s) | ${summary.cpuRatio.toFixed(2)} |`,
    `| peak RSS | ${mib(summary.curlPeakRssBytes)} | CLI ${mib(summary.cliPeakRssBytes)}, host ${mib(summary.hostPeakRssBytes)} | |`,
  ].join('\n'),
);
const resultPath = await writeResult();
console.log(`\nresults: ${resultPath}`);
if (valid.length < rounds.length) {
  console.error(`${rounds.length - valid.length} round(s) had a failed or corrupted download`);
  process.exitCode = 1;
}

async function writeResult(): Promise<string> {
  const date = new Date();
  return writeBenchResult('download-vs-curl', date, {
    benchmark: 'download-vs-curl',
    date: date.toISOString(),
    sizeBytes,
    server: serverKind,
    digest: values.digest,
    cli: CLI,
    environment: benchEnvironment(loadBefore),
    units: { seconds: 's', rss: 'bytes' },
    summary,
    rounds,
  });
}

function positiveInteger(value: string | undefined, flag: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`${flag} must be a positive integer, got ${value}`);
  return parsed;
}
