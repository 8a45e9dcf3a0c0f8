import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type FaultProxy, startFaultProxy } from '../test/helpers/fault-proxy.ts';
import { startTusServer } from '../test/helpers/tus-server.ts';
import { createRandomFile } from './random-file.ts';
import { median, megabytesPerSecond } from './stats.ts';
import {
  type ClientName,
  type ClientRun,
  type ClientSetup,
  prepareClients,
  runClient,
  type Via,
} from './tus-bench-clients.ts';
import { startLeanTusServer } from './tus-lean-server.ts';

/**
 * tus upload throughput, memory and resume cost: bgtransfer against tus-js-client 4.3.1, on loopback.
 *
 *   node --conditions=source --import tsx bench/tus-vs-tus-js-client.ts [--size-mib 256] [--runs 3]
 *        [--resume-runs 1] [--via built|tsx] [--cut 0.55] [--server lean|tus-server]
 *
 * Server for the throughput runs: by default the lean tus server of bench/tus-lean-server.ts (a running
 * sha-256 per upload, nothing stored), so that the clients, not the server, are the limit; `--server
 * tus-server` uses @tus/server 2.4.5 with @tus/file-store instead. Resume runs always use the latter
 * (test/helpers/tus-server.ts, which counts the bytes each upload receives, logs every request and
 * hashes what it stored). Both servers run in this process. Each client is a plain-JavaScript app in
 * its own Node process (bench/tus-bench-clients.ts); by default bgtransfer is the package built from
 * src/ with tsc (`--via tsx` runs it from source instead, and gives both apps the tsx loader).
 *
 * Throughput runs are pairs, the order alternating per run, each client uploading the same random file
 * to the same server; a run counts only if the server stored the file with the right sha256 and
 * received every byte once. Resume runs put a fault proxy in front of the server that resets the
 * client's connection once it has carried `--cut` of the file (default 0.55: past the middle by more
 * than anything a resumed request could re-send, so that a second connection cannot reach the cut
 * too); both clients retry after 100 ms, HEAD, and PATCH the rest. Measured there: the bytes each
 * client put on the wire until done, against the file size.
 *
 * Prints markdown tables and writes bench/results/tus-vs-tus-js-client-<timestamp>.json.
 */

const CLIENTS: readonly ClientName[] = ['tus-js-client', 'bgtransfer'];
const RETRY_DELAY_MS = 100;

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '256' },
    runs: { type: 'string', default: '3' },
    'resume-runs': { type: 'string', default: '1' },
    via: { type: 'string', default: 'built' },
    cut: { type: 'string', default: '0.55' },
    server: { type: 'string', default: 'lean' },
  },
});
const sizeMib = positiveInteger(values['size-mib'], '--size-mib');
const runCount = positiveInteger(values.runs, '--runs');
const resumeRunCount = Number(values['resume-runs']);
if (!Number.isInteger(resumeRunCount) || resumeRunCount < 0) throw new Error('--resume-runs must be an integer ≥ 0');
const via = values.via as Via;
if (via !== 'built' && via !== 'tsx') throw new Error(`--via must be built or tsx, got ${values.via}`);
const cutFraction = Number(values.cut);
if (!(cutFraction > 0 && cutFraction < 1)) throw new Error('--cut must be a fraction between 0 and 1');
const sizeBytes = sizeMib * 1024 * 1024;
const serverKind = values.server;
if (serverKind !== 'lean' && serverKind !== 'tus-server') throw new Error(`--server must be lean or tus-server`);

interface ThroughputRun {
  run: number;
  client: ClientName;
  order: number;
  wallSeconds: number;
  transferSeconds: number;
  /** MB/s (1e6 bytes) over the transfer time. */
  megabytesPerSecond: number;
  peakRssBytes: number;
  /** The client process's CPU, all threads / its main thread. */
  cpuSeconds: number;
  mainThreadCpuSeconds: number;
  serverReceivedBytes: number;
  valid: boolean;
  error: string | null;
}

interface ResumeRun {
  run: number;
  client: ClientName;
  cutAtBytes: number;
  /** Resets that fired (1 expected). */
  faults: number;
  /** Upload-Offset of the first PATCH after the cut: where the server said to go on. */
  resumedAtBytes: number | null;
  /** Bytes the client put on the wire (read by the proxy), request heads included. */
  wireBytes: number;
  /** wireBytes - file size. */
  reSentBytes: number;
  serverReceivedBytes: number;
  wallSeconds: number;
  transferSeconds: number;
  peakRssBytes: number;
  valid: boolean;
  error: string | null;
}

const workDir = await mkdtemp(join(tmpdir(), 'tus-bench-'));
const tus = await startTusServer();
const lean = await startLeanTusServer();
const throughput: ThroughputRun[] = [];
const resume: ResumeRun[] = [];
let failures = 0;
try {
  const setup = await prepareClients(join(workDir, 'apps'), via);
  const file = join(workDir, `random-${sizeMib}MiB.bin`);
  process.stderr.write(`bgtransfer from ${setup.bgtransferEntry}\nwriting ${sizeMib} MiB of random data\n`);
  const fileSha256 = await createRandomFile(file, sizeBytes);

  for (let run = 1; run <= runCount; run++) {
    const order = run % 2 === 1 ? CLIENTS : [...CLIENTS].reverse();
    for (const [index, client] of order.entries()) {
      const measured = await throughputRun(setup, client, file, fileSha256, run, index + 1);
      if (!measured.valid) failures += 1;
      throughput.push(measured);
    }
  }
  for (let run = 1; run <= resumeRunCount; run++) {
    for (const client of CLIENTS) {
      const measured = await resumeRun(setup, client, file, fileSha256, run);
      if (!measured.valid) failures += 1;
      resume.push(measured);
    }
  }

  console.log(renderMarkdown(setup));
  console.log(`\nresults: ${await writeResult(setup, fileSha256)}`);
} finally {
  await tus.close();
  await lean.close();
  await rm(workDir, { recursive: true, force: true });
}
if (failures > 0) {
  console.error(`${failures} run(s) failed or stored a wrong file`);
  process.exitCode = 1;
}

async function throughputRun(
  setup: ClientSetup,
  client: ClientName,
  file: string,
  sha256: string,
  run: number,
  order: number,
): Promise<ThroughputRun> {
  const endpoint = serverKind === 'lean' ? lean.endpoint : tus.endpoint;
  const measured = await runClient(setup, client, file, endpoint, RETRY_DELAY_MS);
  const stored = serverKind === 'lean' ? checkLean(measured, sha256) : await checkStored(measured, sha256);
  const valid = measured.ok && stored.valid && stored.receivedBytes === sizeBytes;
  report(`run ${run} ${client}`, measured, valid);
  return {
    run,
    client,
    order,
    wallSeconds: measured.wallSeconds,
    transferSeconds: measured.transferSeconds,
    megabytesPerSecond: megabytesPerSecond(sizeBytes, measured.transferSeconds),
    peakRssBytes: measured.peakRssBytes,
    cpuSeconds: measured.cpuSeconds,
    mainThreadCpuSeconds: measured.mainThreadCpuSeconds,
    serverReceivedBytes: stored.receivedBytes,
    valid,
    error: measured.error,
  };
}

async function resumeRun(
  setup: ClientSetup,
  client: ClientName,
  file: string,
  sha256: string,
  run: number,
): Promise<ResumeRun> {
  const cutAtBytes = Math.floor(sizeBytes * cutFraction);
  const proxy = await startFaultProxy(tus.port, { defaultPlan: { resetAfterUpstreamBytes: cutAtBytes } });
  const disarm = disarmAfterFault(proxy);
  try {
    const endpoint = `${proxy.url}/files/`;
    const measured = await runClient(setup, client, file, endpoint, RETRY_DELAY_MS);
    disarm.stop();
    const stored = await checkStored(measured, sha256);
    const id = measured.uploadUrl === null ? null : tus.uploadId(measured.uploadUrl);
    const patches = tus.requests.filter((request) => request.method === 'PATCH' && request.url === `/files/${id}`);
    const resumedAt = patches[1]?.headers.find(([name]) => name.toLowerCase() === 'upload-offset')?.[1];
    const wireBytes = proxy.connections.reduce((sum, connection) => sum + connection.upstreamRead, 0);
    const faults = proxy.connections.filter((connection) => connection.fault !== null).length;
    const valid = measured.ok && stored.valid && faults >= 1;
    report(`resume ${run} ${client}`, measured, valid);
    return {
      run,
      client,
      cutAtBytes,
      faults,
      resumedAtBytes: resumedAt === undefined ? null : Number(resumedAt),
      wireBytes,
      reSentBytes: wireBytes - sizeBytes,
      serverReceivedBytes: stored.receivedBytes,
      wallSeconds: measured.wallSeconds,
      transferSeconds: measured.transferSeconds,
      peakRssBytes: measured.peakRssBytes,
      valid,
      error: measured.error,
    };
  } finally {
    disarm.stop();
    await proxy.close();
  }
}

/** Once the reset fired, later connections pass through (polled: the clients wait 100 ms to retry). */
function disarmAfterFault(proxy: FaultProxy): { stop(): void } {
  const timer = setInterval(() => {
    if (proxy.connections.some((connection) => connection.fault !== null)) {
      proxy.setDefaultPlan({});
      clearInterval(timer);
    }
  }, 2);
  return { stop: () => clearInterval(timer) };
}

/** The lean server's running hash: right sha256? How many bytes did it receive? */
function checkLean(measured: ClientRun, sha256: string): { valid: boolean; receivedBytes: number } {
  if (measured.uploadUrl === null) return { valid: false, receivedBytes: 0 };
  const upload = lean.upload(measured.uploadUrl);
  lean.forget(measured.uploadUrl);
  return { valid: upload?.sha256 === sha256, receivedBytes: upload?.receivedBytes ?? 0 };
}

/** The server's copy: right sha256? How many bytes did it receive? Then frees its disk space. */
async function checkStored(measured: ClientRun, sha256: string): Promise<{ valid: boolean; receivedBytes: number }> {
  if (measured.uploadUrl === null) return { valid: false, receivedBytes: 0 };
  const id = tus.uploadId(measured.uploadUrl);
  if (!tus.exists(id)) return { valid: false, receivedBytes: 0 };
  const valid = (await tus.sha256(id)) === sha256;
  await rm(join(tus.directory, id), { force: true });
  await rm(join(tus.directory, `${id}.json`), { force: true });
  return { valid, receivedBytes: tus.receivedBytes(id) };
}

function report(label: string, measured: ClientRun, valid: boolean): void {
  const detail = measured.error === null ? '' : `\n  ${measured.error}\n${measured.stderrTail}`;
  process.stderr.write(
    `${label}: ${valid ? 'ok' : 'FAILED'} in ${measured.transferSeconds.toFixed(2)} s, ` +
      `peak RSS ${(measured.peakRssBytes / 1e6).toFixed(1)} MB${detail}\n`,
  );
}

// ---------------------------------------------------------------------------------------------------
// Report

interface Summary {
  client: ClientName;
  medianMegabytesPerSecond: number;
  medianTransferSeconds: number;
  medianWallSeconds: number;
  medianPeakRssBytes: number;
  medianCpuSeconds: number;
}

function summaries(): Summary[] {
  return CLIENTS.map((client) => {
    const mine = throughput.filter((entry) => entry.client === client && entry.valid);
    return {
      client,
      medianMegabytesPerSecond: median(mine.map((entry) => entry.megabytesPerSecond)),
      medianTransferSeconds: median(mine.map((entry) => entry.transferSeconds)),
      medianWallSeconds: median(mine.map((entry) => entry.wallSeconds)),
      medianPeakRssBytes: median(mine.map((entry) => entry.peakRssBytes)),
      medianCpuSeconds: median(mine.map((entry) => entry.cpuSeconds)),
    };
  });
}

function renderMarkdown(setup: ClientSetup): string {
  const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);
  const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(2);
  const lines = [
    `## tus upload of ${sizeMib} MiB on loopback: bgtransfer vs tus-js-client 4.3.1`,
    '',
    `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}, server ${serverName()} ` +
      `in the bench process; bgtransfer ${setup.via === 'built' ? 'built with tsc (plain Node)' : 'from src/ via tsx (both apps with the tsx loader)'}, ` +
      'BGTRANSFER_HOST=inproc; tus-js-client with a file stream, chunkSize unset.',
    '',
    '| run | client | transfer s | wall s | MB/s | peak RSS MB | CPU s (main thread) | valid |',
    '|---:|---|---:|---:|---:|---:|---:|---|',
  ];
  for (const entry of throughput) {
    lines.push(
      `| ${entry.run}.${entry.order} | ${entry.client} | ${entry.transferSeconds.toFixed(2)} | ${entry.wallSeconds.toFixed(2)} | ` +
        `${entry.megabytesPerSecond.toFixed(1)} | ${mb(entry.peakRssBytes)} | ` +
        `${entry.cpuSeconds.toFixed(2)} (${entry.mainThreadCpuSeconds.toFixed(2)}) | ${entry.valid ? 'yes' : 'NO'} |`,
    );
  }
  const [tusJs, bg] = summaries();
  lines.push('', '| median | MB/s | transfer s | wall s | peak RSS MB | CPU s |', '|---|---:|---:|---:|---:|---:|');
  for (const summary of [tusJs, bg]) {
    if (!summary) continue;
    lines.push(
      `| ${summary.client} | ${summary.medianMegabytesPerSecond.toFixed(1)} | ${summary.medianTransferSeconds.toFixed(2)} | ` +
        `${summary.medianWallSeconds.toFixed(2)} | ${mb(summary.medianPeakRssBytes)} | ${summary.medianCpuSeconds.toFixed(2)} |`,
    );
  }
  if (tusJs && bg) {
    lines.push(
      `| bgtransfer / tus-js-client | ${(bg.medianMegabytesPerSecond / tusJs.medianMegabytesPerSecond).toFixed(2)} | ` +
        `${(bg.medianTransferSeconds / tusJs.medianTransferSeconds).toFixed(2)} | ` +
        `${(bg.medianWallSeconds / tusJs.medianWallSeconds).toFixed(2)} | ` +
        `${(bg.medianPeakRssBytes / tusJs.medianPeakRssBytes).toFixed(2)} | ` +
        `${(bg.medianCpuSeconds / tusJs.medianCpuSeconds).toFixed(2)} |`,
    );
  }
  if (resume.length > 0) {
    lines.push(
      '',
      `### Resume: connection reset after ${(cutFraction * 100).toFixed(0)} % of the file, retry after ${RETRY_DELAY_MS} ms`,
      '',
      '| run | client | cut at MiB | resets | resumed at MiB | on the wire MiB | re-sent MiB | server received MiB | transfer s | peak RSS MB | valid |',
      '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    );
    for (const entry of resume) {
      lines.push(
        `| ${entry.run} | ${entry.client} | ${mib(entry.cutAtBytes)} | ${entry.faults} | ` +
          `${entry.resumedAtBytes === null ? '–' : mib(entry.resumedAtBytes)} | ${mib(entry.wireBytes)} | ` +
          `${mib(entry.reSentBytes)} | ${mib(entry.serverReceivedBytes)} | ${entry.transferSeconds.toFixed(2)} | ` +
          `${mb(entry.peakRssBytes)} | ${entry.valid ? 'yes' : 'NO'} |`,
      );
    }
  }
  return lines.join('\n');
}

async function writeResult(setup: ClientSetup, fileSha256: string): Promise<string> {
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  await mkdir(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const path = join(dir, `tus-vs-tus-js-client-${stamp}.json`);
  const result = {
    benchmark: 'tus-vs-tus-js-client',
    date: new Date().toISOString(),
    sizeBytes,
    fileSha256,
    via: setup.via,
    // Relative to the repository: the absolute path is this machine's.
    bgtransferEntry: relative(fileURLToPath(new URL('..', import.meta.url)), setup.bgtransferEntry),
    environment: {
      node: process.version,
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      kernel: commandOutput('uname', ['-r']),
      network: 'loopback (127.0.0.1)',
      server: `${serverName()}, in the bench process (resume runs: @tus/server 2.4.5 + @tus/file-store 2.1.1)`,
      clients: {
        'tus-js-client': '4.3.1, fs.ReadStream source, chunkSize unset',
        bgtransfer: 'BGTRANSFER_HOST=inproc, resumeProtocol "tus"',
      },
    },
    units: { rates: 'MB/s (1e6 bytes)', rss: 'bytes', times: 'seconds' },
    retryDelayMs: RETRY_DELAY_MS,
    cutFraction,
    medians: summaries(),
    throughput,
    resume,
  };
  // JSON has no NaN: a failed measurement is written as null.
  await writeFile(path, `${JSON.stringify(result, (_key, value) => (Number.isNaN(value) ? null : value), 2)}\n`);
  return path;
}

function serverName(): string {
  return serverKind === 'lean'
    ? 'the lean tus server (bench/tus-lean-server.ts: sha-256 only, nothing stored)'
    : '@tus/server 2.4.5 + @tus/file-store 2.1.1';
}

function commandOutput(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function positiveInteger(value: string | undefined, flag: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`${flag} must be a positive integer, got ${value}`);
  return parsed;
}
