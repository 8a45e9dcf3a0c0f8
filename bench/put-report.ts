import type { BgtransferRun } from './measure-bgtransfer.ts';
import type { CurlRun } from './measure-curl.ts';
import type { SinkRequest } from './put-sink-server.ts';
import { mebibytes, median, megabytesPerSecond } from './stats.ts';

/** One paired run: curl and bgtransfer uploading the same file to the same server, back to back. */
export interface PairedRun {
  run: number;
  curl?: { client: CurlRun; server: SinkRequest; valid: boolean };
  bgtransfer?: { client: BgtransferRun; server: SinkRequest | undefined; valid: boolean };
}

export interface RunRates {
  curlWall: number;
  bgtransferWall: number;
  curlServer: number;
  bgtransferServer: number;
  curlRss: number;
  bgtransferRss: number;
}

/** MB/s and RSS of one run; NaN where a side was skipped or its upload did not arrive intact. */
export function ratesOf(run: PairedRun, sizeBytes: number): RunRates {
  const curl = run.curl?.valid ? run.curl : undefined;
  const bgtransfer = run.bgtransfer?.valid ? run.bgtransfer : undefined;
  return {
    curlWall: curl ? megabytesPerSecond(sizeBytes, curl.client.wallSeconds) : Number.NaN,
    bgtransferWall: bgtransfer ? megabytesPerSecond(sizeBytes, bgtransfer.client.wallSeconds) : Number.NaN,
    curlServer: curl ? megabytesPerSecond(sizeBytes, curl.server.bodySeconds) : Number.NaN,
    bgtransferServer: bgtransfer?.server ? megabytesPerSecond(sizeBytes, bgtransfer.server.bodySeconds) : Number.NaN,
    curlRss: run.curl ? run.curl.client.peakRssBytes : Number.NaN,
    bgtransferRss: run.bgtransfer?.client.ok ? run.bgtransfer.client.peakRssBytes : Number.NaN,
  };
}

export function medianRates(all: readonly RunRates[]): RunRates {
  const of = (key: keyof RunRates): number => median(all.map((rates) => rates[key]));
  return {
    curlWall: of('curlWall'),
    bgtransferWall: of('bgtransferWall'),
    curlServer: of('curlServer'),
    bgtransferServer: of('bgtransferServer'),
    curlRss: of('curlRss'),
    bgtransferRss: of('bgtransferRss'),
  };
}

/**
 * Two tables. The first is what a user waits for: client wall time, process start-up included. The
 * second times the body at the server, the same clock for both, so it compares transfer speed alone.
 */
export function renderMarkdown(runs: readonly PairedRun[], sizeBytes: number): string {
  const rates = runs.map((run) => ratesOf(run, sizeBytes));
  const medians = medianRates(rates);
  const startup = median(runs.map((run) => run.bgtransfer?.client.startupSeconds ?? Number.NaN));
  const lines = [
    `PUT ${mebibytes(sizeBytes).toFixed(0)} MiB over loopback, client wall time (process start-up included)`,
    '',
    '| run | curl MB/s | bgtransfer MB/s | ratio (bgtransfer/curl) | curl peak RSS | bgtransfer peak RSS |',
    '|---|---|---|---|---|---|',
    ...rates.map((rate, index) => wallRow(String(runs[index]?.run ?? index + 1), rate)),
    wallRow('**median**', medians),
    '',
    'Same runs, body timed at the server (request headers to last byte; start-up excluded)',
    '',
    '| run | curl MB/s | bgtransfer MB/s | ratio (bgtransfer/curl) | bgtransfer start-up s |',
    '|---|---|---|---|---|',
    ...rates.map((rate, index) => {
      const run = runs[index];
      return serverRow(String(run?.run ?? index + 1), rate, run?.bgtransfer?.client.startupSeconds ?? Number.NaN);
    }),
    serverRow('**median**', medians, startup),
  ];
  return lines.join('\n');
}

function wallRow(label: string, rates: RunRates): string {
  return `| ${label} | ${fixed(rates.curlWall, 0)} | ${fixed(rates.bgtransferWall, 0)} | ${fixed(rates.bgtransferWall / rates.curlWall, 2)} | ${mib(rates.curlRss)} | ${mib(rates.bgtransferRss)} |`;
}

function serverRow(label: string, rates: RunRates, startupSeconds: number): string {
  return `| ${label} | ${fixed(rates.curlServer, 0)} | ${fixed(rates.bgtransferServer, 0)} | ${fixed(rates.bgtransferServer / rates.curlServer, 2)} | ${fixed(startupSeconds, 2)} |`;
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

function mib(bytes: number): string {
  return Number.isFinite(bytes) && bytes > 0 ? `${mebibytes(bytes).toFixed(1)} MiB` : 'n/a';
}
