import {
  IN_FLIGHT_SLACK_BYTES,
  KILL_PHASE_LINK_BYTES_PER_SECOND,
  KiB,
  type Kill,
  LINK_BYTES_PER_SECOND,
  type MatrixServers,
  MiB,
  STALL_TIMEOUT_MS,
  type Upload,
} from './fault-matrix-plan.ts';
import { account, header, recordsOf, type SummaryRow } from './fault-matrix-verify.ts';
import { stalledAt } from './fault-matrix-watch.ts';
import type { FaultPlan } from './fault-proxy.ts';

/** The fault matrix's printed report (a table per server, the timings) and small helpers of its tests. */

export interface Report {
  uploads: Upload[];
  summary: SummaryRow[];
  kills: Kill[];
  resets: number;
  stalls: number;
  planned: number;
  stallDetections: number[];
  resumeMs: number[];
  runMs: number;
  /** performance.now() when the uploads were started. */
  runStartedMs: number;
  seed: number;
  inFlightBound: number;
  kernelInFlight: number;
}

export function printSummary(report: Report): void {
  const mib = (bytes: number): string => (bytes / MiB).toFixed(2);
  const kib = (bytes: number): string => (bytes / KiB).toFixed(0);
  const total = report.summary.reduce((sum, row) => sum + row.bytes, 0);
  const lines = [
    `fault matrix, seed ${report.seed}: ${report.uploads.length} uploads, ${mib(total)} MiB, done in ` +
      `${(report.runMs / 1000).toFixed(1)} s; faults fired ${report.resets + report.stalls} of ${report.planned} ` +
      `planned (${report.resets} resets, ${report.stalls} stalls); host SIGKILLed ${report.kills.length} times; ` +
      `link ${mib(LINK_BYTES_PER_SECOND)} MiB/s per connection ` +
      `(${mib(KILL_PHASE_LINK_BYTES_PER_SECOND)} MiB/s for uploads without a stall until the last kill)`,
    `in-flight bound per interruption: ${kib(report.inFlightBound)} KiB (kernel buffers past the link, calibrated: ` +
      `${kib(report.kernelInFlight)} KiB, + ${kib(IN_FLIGHT_SLACK_BYTES)} KiB)`,
    '',
    '| server | uploads | MiB | faults fired | interrupted requests | re-sent over the link MiB | re-sent per interruption: avg / max KiB | server read beyond the files MiB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of report.summary) {
    const average = row.interruptions === 0 ? 0 : row.reSent / row.interruptions;
    lines.push(
      `| ${row.kind} | ${row.uploads} | ${mib(row.bytes)} | ${row.faultsFired} | ${row.interruptions} | ` +
        `${mib(row.reSent)} (${((row.reSent / row.bytes) * 100).toFixed(1)} % of its bytes) | ` +
        `${kib(average)} / ${kib(row.maxReSentPerInterruption)} | ${mib(row.serverExtra)} |`,
    );
  }
  lines.push('');
  for (const kill of report.kills) {
    lines.push(
      `SIGKILL of host ${kill.pid} at ${((kill.atMs - report.runStartedMs) / 1000).toFixed(1)} s ` +
        `(${kill.inFlight.length} uploads on the wire) → host ${kill.newPid} ` +
        `answered after ${(kill.newHostAtMs - kill.atMs).toFixed(0)} ms`,
    );
  }
  lines.push(
    `resume after SIGKILL (SIGKILL → first new progress of an upload with a session): ${stats(report.resumeMs)}`,
    `stall detection (stall → request abandoned; stallTimeoutMs ${STALL_TIMEOUT_MS}): ${stats(report.stallDetections)}`,
  );
  console.log(lines.join('\n'));
}

export function printDetails(servers: MatrixServers, uploads: Upload[], kills: Kill[]): void {
  console.log(`kills ${JSON.stringify(kills)}`);
  for (const upload of uploads) {
    const stall = upload.proxy.connections.find((c) => c.fault === 'stall');
    if (!stall) continue;
    const statuses = upload.progress.map((e) => `${e.atMs.toFixed(0)}:${e.status}`).join(' ');
    console.log(`stall #${upload.index} ${upload.operation.guid} at ${stalledAt.get(stall)?.toFixed(0)} | ${statuses}`);
  }
  for (const upload of uploads) {
    const entry = account(servers, upload);
    const connections = upload.proxy.connections
      .map((c) => `${c.fault ?? '-'}:${c.upstreamRead}/${c.upstreamBytes}`)
      .join(' ');
    const requests = recordsOf(servers, upload)
      .map((request) => `${request.method}${header(request.headers, 'upload-offset') ?? ''}`)
      .join(' ');
    console.log(
      `#${upload.index} ${upload.kind} ${upload.size} plans ${JSON.stringify(upload.plans.map(faultOf))} ` +
        `re-sent ${entry.reSent} / ${entry.interruptions} | ${connections} | ${requests}`,
    );
  }
}

export function faultOf(plan: FaultPlan): string {
  return plan.stallAfterUpstreamBytes === undefined
    ? `reset@${plan.resetAfterUpstreamBytes}`
    : `stall@${plan.stallAfterUpstreamBytes}`;
}

export function stats(values: number[]): string {
  if (values.length === 0) return 'none measured';
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return `n=${sorted.length}, min ${sorted[0]!.toFixed(0)} ms, median ${median.toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms`;
}

/** `promise`'s value, or `fallback` after `ms` (the timer does not outlive the race). */
export async function within<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<F>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

export function describe(reason: unknown): string {
  const error = reason as { code?: string; message?: string };
  return `${error.code ?? 'no code'}: ${error.message ?? String(reason)}`;
}
