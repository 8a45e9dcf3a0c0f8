import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runBgtransfer } from './measure-bgtransfer.ts';
import { runCurl } from './measure-curl.ts';
import { medianRates, type PairedRun, ratesOf, renderMarkdown } from './put-report.ts';
import { fileCrc32, type PutSink, type SinkRequest, startPutSink } from './put-sink-server.ts';
import { createRandomFile } from './random-file.ts';

/**
 * PUT throughput and peak memory of bgtransfer against curl, on loopback.
 *
 *   node --conditions=source --import tsx bench/put-throughput.ts [--size-mib 1024] [--runs 3] [--only curl|bgtransfer]
 *
 * Each run is a pair, curl then bgtransfer, uploading the same random file to the same counting server,
 * so both sides see the same machine state. A side counts only if the server received every byte with
 * the file's CRC-32 (put-sink-server.ts). Prints markdown tables and writes bench/results/put-throughput-<date>.json.
 */

type Side = 'curl' | 'bgtransfer';

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    runs: { type: 'string', default: '3' },
    only: { type: 'string' },
  },
});
const sizeMib = positiveInteger(values['size-mib'], '--size-mib');
const runCount = positiveInteger(values.runs, '--runs');
const sides = selectSides(values.only);
const sizeBytes = sizeMib * 1024 * 1024;

const workDir = await mkdtemp(join(tmpdir(), 'bgtransfer-bench-'));
const sink = await startPutSink();
const runs: PairedRun[] = [];
let failures = 0;
try {
  const file = join(workDir, `random-${sizeMib}MiB.bin`);
  process.stderr.write(`writing ${sizeMib} MiB of random data to ${file}\n`);
  const fileSha256 = await createRandomFile(file, sizeBytes);
  const crc = await fileCrc32(file);

  for (let run = 1; run <= runCount; run++) {
    const paired: PairedRun = { run };
    if (sides.includes('curl')) paired.curl = await curlSide(sink, file, crc, run);
    if (sides.includes('bgtransfer')) paired.bgtransfer = await bgtransferSide(sink, file, crc, run);
    if (paired.curl?.valid === false || paired.bgtransfer?.valid === false) failures += 1;
    runs.push(paired);
  }

  console.log(renderMarkdown(runs, sizeBytes));
  const resultPath = await writeResult(runs, fileSha256);
  console.log(`\nresults: ${resultPath}`);
} finally {
  await sink.close();
  await rm(workDir, { recursive: true, force: true });
}
if (failures > 0) {
  console.error(`${failures} run(s) had a failed or corrupted upload`);
  process.exitCode = 1;
}

async function curlSide(sink: PutSink, file: string, crc: number, run: number): Promise<PairedRun['curl']> {
  const received = sink.nextRequest();
  const client = await runCurl(file, `${sink.url}/curl-${run}`);
  // When curl fails the server may never see a complete request, so only a success waits for it.
  const server = client.exitCode === 0 ? await received : emptyRequest();
  const valid =
    client.exitCode === 0 && client.httpCode === '201' && server.bytes === sizeBytes && server.crc32 === crc;
  progress('curl', run, valid, client.wallSeconds, client.stderr);
  return { client, server, valid };
}

async function bgtransferSide(sink: PutSink, file: string, crc: number, run: number): Promise<PairedRun['bgtransfer']> {
  let server: SinkRequest | undefined;
  const received = sink.nextRequest('PUT').then((request) => {
    server = request;
  });
  const client = await runBgtransfer(file, `${sink.url}/bgtransfer-${run}`);
  // The server records the request just before it answers, so by the time the client has its answer
  // the record exists; the race only matters for a failed upload, which is not waited for.
  if (client.ok) await received;
  const valid = client.ok && client.statusCode === 201 && server?.bytes === sizeBytes && server.crc32 === crc;
  progress('bgtransfer', run, valid, client.wallSeconds, client.error ?? '');
  if (!client.exitedByItself) process.stderr.write('  note: the bgtransfer process did not exit by itself\n');
  return { client, server, valid };
}

function progress(side: Side, run: number, valid: boolean, seconds: number, detail: string): void {
  const status = valid ? 'ok' : 'FAILED';
  process.stderr.write(`run ${run} ${side}: ${status} in ${seconds.toFixed(2)} s${detail ? `\n  ${detail}` : ''}\n`);
}

async function writeResult(runs: readonly PairedRun[], fileSha256: string): Promise<string> {
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  await mkdir(dir, { recursive: true });
  const date = new Date().toISOString().slice(0, 10);
  const path = join(dir, `put-throughput-${date}.json`);
  const rates = runs.map((run) => ratesOf(run, sizeBytes));
  const result = {
    benchmark: 'put-throughput',
    date: new Date().toISOString(),
    sizeBytes,
    fileSha256,
    sides,
    environment: {
      node: process.version,
      curl: commandVersion('curl', ['--version']),
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
    },
    units: { rates: 'MB/s (1e6 bytes)', rss: 'bytes' },
    medians: medianRates(rates),
    runs: runs.map((run, index) => ({ ...run, rates: rates[index] })),
  };
  // JSON has no NaN: a skipped side is written as null.
  await writeFile(path, `${JSON.stringify(result, (_key, value) => (Number.isNaN(value) ? null : value), 2)}\n`);
  return path;
}

function emptyRequest(): SinkRequest {
  return { method: '', path: '', bytes: 0, crc32: -1, bodySeconds: Number.NaN, sinkCpuSeconds: Number.NaN };
}

function commandVersion(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8' }).split('\n')[0] ?? '';
  } catch {
    return 'not found';
  }
}

function positiveInteger(value: string | undefined, flag: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`${flag} must be a positive integer, got ${value}`);
  return parsed;
}

function selectSides(only: string | undefined): Side[] {
  if (only === undefined) return ['curl', 'bgtransfer'];
  if (only === 'curl' || only === 'bgtransfer') return [only];
  throw new Error(`--only must be curl or bgtransfer, got ${only}`);
}
