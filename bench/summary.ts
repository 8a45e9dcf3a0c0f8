import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startDownloadServer } from '../test/helpers/download-server.ts';
import { cliCanDownload, cliDownload, curlDownload } from './download-sides.ts';
import { fileCrc32, startPutSink } from './put-sink-server.ts';
import { createRandomFile } from './random-file.ts';
import { benchEnvironment, writeBenchResult } from './result-file.ts';
import { autoSamples, tusSamples } from './summary-extra.ts';
import { renderSummary, type Sample, type SummaryRow, summarize } from './summary-report.ts';
import { assertGnuTime, processCpuSeconds, processPeakRssBytes, type TimedRun, timedRun } from './timed-run.ts';
import { startHost, stopHost } from './transfer-host.ts';

/**
 * `npm run bench`: the built package against its peers, as ratios measured in the same run.
 *
 *   node --conditions=source --import tsx bench/summary.ts [--size-mib 1024] [--runs 5] [--startup-runs 10]
 *        [--tus-runs 5] [--auto-count 1000] [--auto-runs 5] [--small-count 10000]
 *
 * - A PUT of one random file over loopback to a hashing node:http server: `curl -T` against the built
 *   CLI through a running transfer host (`bgtransfer upload FILE URL --method PUT`; CPU is the CLI's plus
 *   the host's) and against the built package in-process (bench/put-once-built.mjs). Each round runs the
 *   three in a rotating order and each ratio is taken against the same round's curl; a run counts only
 *   if the server got every byte with the file's CRC-32 (put-sink-server.ts).
 * - A GET of the same file from the download tests' node:http range server: `curl -o` against the built
 *   CLI through the same host (`bgtransfer download URL FILE`), alternating which goes first; each run
 *   counts only if the file written has the right sha256. Skipped while the CLI has no `download`.
 * - A tus upload of the same file: bgtransfer against tus-js-client, and many small uploads with
 *   resumeProtocol 'auto' against 'none' (bench/summary-extra.ts).
 * - `import('bgtransfer')` and `bgtransfer --version` against `node -e 0`, alternately.
 * - Then, unless --small-count 0: bench/host-small-uploads.ts (that many 4 KiB uploads through the built
 *   host against an undici loop, 4 runs, each with an 'auto' run beside its 'none' run) and
 *   bench/host-list.ts (enumeration with that many stored).
 *
 * Wall time, CPU time and peak RSS come from GNU time (ru_maxrss); the host's from /proc. Prints one
 * markdown table of medians and writes bench/results/summary-<timestamp>.json. Needs `npm run build`.
 */

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');
const PUT_ONCE = join(ROOT, 'bench/put-once-built.mjs');

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    runs: { type: 'string', default: '5' },
    'startup-runs': { type: 'string', default: '10' },
    'tus-runs': { type: 'string', default: '5' },
    'auto-count': { type: 'string', default: '1000' },
    'auto-runs': { type: 'string', default: '5' },
    'small-count': { type: 'string', default: '10000' },
  },
});
const sizeMib = positiveInteger(values['size-mib'], '--size-mib');
const runs = positiveInteger(values.runs, '--runs');
const startupRuns = positiveInteger(values['startup-runs'], '--startup-runs');
const tusRuns = positiveInteger(values['tus-runs'], '--tus-runs');
const autoCount = positiveInteger(values['auto-count'], '--auto-count');
const autoRuns = positiveInteger(values['auto-runs'], '--auto-runs');
/** 0 skips the many-small-uploads and enumeration benchmarks (minutes on a loaded machine). */
const smallCount = Number(values['small-count']);
const sizeBytes = sizeMib * 1024 * 1024;

assertGnuTime();
if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm run bench does)`);

const loadBefore = loadavg();
const workDir = await mkdtemp(join(tmpdir(), 'bgtransfer-bench-'));
const sink = await startPutSink();
let host: ChildProcess | undefined;
const samples: Sample[] = [];
try {
  const file = join(workDir, `random-${sizeMib}MiB.bin`);
  process.stderr.write(`writing ${sizeMib} MiB of random data to ${file}\n`);
  const sha256 = await createRandomFile(file, sizeBytes);
  const crc = await fileCrc32(file);
  const hostHome = join(workDir, 'host-home');
  host = await startHost(CLI, hostHome);
  const hostPid = host.pid ?? -1;

  const sides: Record<string, (round: number) => Promise<void>> = {
    curl: async (round) => {
      const received = sink.nextRequest('PUT');
      const run = await timedRun('curl', [
        '-sS',
        '-T',
        file,
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        `${sink.url}/curl-${round}`,
      ]);
      const ok = run.exitCode === 0 && run.stdout.trim() === '201' && (await arrived(received, crc));
      record('put', 'curl', round, run, ok);
    },
    inproc: async (round) => {
      const home = join(workDir, `inproc-home-${round}`);
      const received = sink.nextRequest('PUT');
      const run = await timedRun(process.execPath, [PUT_ONCE, `${sink.url}/inproc-${round}`, file], {
        env: { ...process.env, BGTRANSFER_HOST: 'inproc', BGTRANSFER_HOME: home, BGTRANSFER_APP_ID: 'bench' },
        cwd: ROOT,
      });
      const ok = run.exitCode === 0 && (await arrived(received, crc));
      record('put', 'in-process', round, run, ok);
      await rm(home, { recursive: true, force: true });
    },
    cli: async (round) => {
      const received = sink.nextRequest('PUT');
      const hostCpuBefore = processCpuSeconds(hostPid);
      const run = await timedRun(
        process.execPath,
        [CLI, 'upload', file, `${sink.url}/cli-${round}`, '--method', 'PUT'],
        { env: { ...process.env, BGTRANSFER_HOST: 'auto', BGTRANSFER_HOME: hostHome } },
      );
      const hostCpu = processCpuSeconds(hostPid) - hostCpuBefore;
      const ok = run.exitCode === 0 && (await arrived(received, crc));
      record('put', 'CLI through the host', round, { ...run, cpuSeconds: run.cpuSeconds + hostCpu }, ok, {
        hostPeakRssBytes: processPeakRssBytes(hostPid),
        hostCpuSeconds: hostCpu,
      });
    },
  };
  for (let round = 1; round <= runs; round++) {
    for (const name of rotate(Object.keys(sides), round)) await sides[name]?.(round);
  }
  await measureDownloads(file, sha256, hostHome, hostPid);
  samples.push(...(await tusSamples(workDir, file, sha256, tusRuns)));
  samples.push(...(await autoSamples(workDir, autoCount, autoRuns)));

  const startup: Record<string, (round: number) => Promise<void>> = {
    node: async (round) => {
      const run = await timedRun(process.execPath, ['-e', '0'], { cwd: ROOT });
      record('startup', 'node -e 0', round, run, run.exitCode === 0);
    },
    import: async (round) => {
      const run = await timedRun(process.execPath, ['--input-type=module', '-e', "await import('bgtransfer')"], {
        cwd: ROOT,
        env: { ...process.env, BGTRANSFER_HOST: 'auto' },
      });
      record('startup', "import('bgtransfer')", round, run, run.exitCode === 0);
    },
    version: async (round) => {
      const run = await timedRun(process.execPath, [CLI, '--version'], { cwd: ROOT });
      record('startup', 'bgtransfer --version', round, run, run.exitCode === 0 && /^\d+\.\d+\.\d+/.test(run.stdout));
    },
  };
  for (let round = 1; round <= startupRuns; round++) {
    for (const name of rotate(Object.keys(startup), round)) await startup[name]?.(round);
  }
} finally {
  await stopHost(host);
  await sink.close();
  await rm(workDir, { recursive: true, force: true });
}

const rows = summarize(samples);
console.log(renderSummary(rows, samples, sizeBytes, runs, startupRuns));
const resultPath = await writeResult(rows);
console.log(`\nresults: ${resultPath}`);
if (smallCount > 0) {
  // Each prints its own tables and writes its own result file.
  // Built, as users run the host; each 'auto' run beside its own 'none' run (the floor's measure of 'auto').
  const small = ['--count', String(smallCount), '--runs', '4', '--auto-runs', '4', '--list-runs', '0', '--built'];
  await runBench('host-small-uploads.ts', small);
  await runBench('host-list.ts', ['--count', String(smallCount)]);
}
const failed = samples.filter((sample) => !sample.ok);
if (failed.length > 0) {
  console.error(
    `${failed.length} run(s) failed: ${failed.map((sample) => `${sample.side} #${sample.round}`).join(', ')}`,
  );
  process.exitCode = 1;
}

function record(
  group: Sample['group'],
  side: string,
  round: number,
  run: TimedRun,
  ok: boolean,
  extra: Partial<Sample> = {},
): void {
  samples.push({
    group,
    side,
    round,
    ok,
    wallSeconds: run.wallSeconds,
    cpuSeconds: run.cpuSeconds,
    maxRssBytes: run.maxRssBytes,
    ...extra,
  });
  const status = ok ? 'ok' : `FAILED (exit ${run.exitCode}) ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`;
  process.stderr.write(
    `${group} #${round} ${side}: ${status} ${run.wallSeconds.toFixed(3)} s wall, ${run.cpuSeconds.toFixed(2)} s CPU\n`,
  );
}

/** Whether the server got the whole body intact (a failed client is not waited for). */
async function arrived(received: Promise<{ bytes: number; crc32: number }>, crc: number): Promise<boolean> {
  const request = await Promise.race([received, sleep(10_000).then(() => undefined)]);
  return request !== undefined && request.bytes === sizeBytes && request.crc32 === crc;
}

async function writeResult(rows: readonly SummaryRow[]): Promise<string> {
  const date = new Date();
  return writeBenchResult('summary', date, {
    benchmark: 'summary',
    date: date.toISOString(),
    sizeBytes,
    runs,
    startupRuns,
    environment: benchEnvironment(loadBefore),
    units: { seconds: 's', rss: 'bytes' },
    rows,
    samples,
  });
}

/** The GET rounds, when the built CLI can download (bench/download-vs-curl.ts measures them alone). */
async function measureDownloads(file: string, sha256: string, hostHome: string, hostPid: number): Promise<void> {
  if (!(await cliCanDownload(CLI))) {
    process.stderr.write('get: skipped, the built CLI has no download command\n');
    return;
  }
  const server = await startDownloadServer();
  try {
    await server.serve('/random.bin', file);
    const url = `${server.url}/random.bin`;
    const out = join(workDir, 'downloaded.bin');
    const env = { ...process.env, BGTRANSFER_HOST: 'auto', BGTRANSFER_HOME: hostHome };
    const sides: Record<string, (round: number) => Promise<void>> = {
      curl: async (round) => {
        const { run, ok } = await curlDownload(url, out, sha256);
        record('get', 'curl GET', round, run, ok);
      },
      cli: async (round) => {
        const { run, ok, ...host } = await cliDownload(CLI, env, hostPid, url, out, sha256);
        record('get', 'CLI download through the host', round, run, ok, host);
      },
    };
    for (let round = 1; round <= runs; round++) {
      for (const name of rotate(Object.keys(sides), round)) await sides[name]?.(round);
    }
  } finally {
    await server.close();
  }
}

/** Another benchmark of this directory from source, in the foreground; a failure sets the exit code. */
async function runBench(script: string, args: readonly string[]): Promise<void> {
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', join(ROOT, 'bench', script), ...args],
    { cwd: ROOT, stdio: 'inherit' },
  );
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) {
    console.error(`bench/${script} exited with code ${code}`);
    process.exitCode = 1;
  }
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

function positiveInteger(value: string | undefined, flag: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`${flag} must be a positive integer, got ${value}`);
  return parsed;
}
