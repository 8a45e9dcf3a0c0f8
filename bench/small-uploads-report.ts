import type { ListRunResult, UploadRunResult } from './small-uploads-client.ts';
import type { SinkStats } from './small-uploads-sink.ts';
import { mebibytes, median } from './stats.ts';

/** What bench/host-small-uploads.ts records, and its markdown tables. */

export type { ListRunResult, SinkStats, UploadRunResult };

/** Host process readings from /proc/<pid>/status and /proc/<pid>/stat. */
export interface HostReading {
  vmHwmBytes: number;
  vmRssBytes: number;
  /** utime + stime of the host process since it started, in seconds. */
  cpuSeconds: number;
}

/** Timing the host itself stored: the first operation's createdAtMs to the last completion's updatedAtMs. */
export interface StoreTiming {
  completed: number;
  firstCreatedAtMs: number;
  lastCompletedAtMs: number;
  seconds: number;
  uploadsPerSecond: number;
}

export interface BaselineRun {
  run: number;
  side: 'undici';
  client: UploadRunResult;
  sink: SinkStats;
  valid: boolean;
}

export interface ListTiming {
  /** The fresh process, spawn to exit (Node, tsx, module loading, the call, exit). */
  processWallMs: number;
  result: ListRunResult | undefined;
  error?: string;
}

export interface CliTiming {
  wallMs: number;
  lines: number;
  exitCode: number | null;
}

export interface HostRun {
  run: number;
  side: 'bgtransfer';
  resumeProtocol: 'none' | 'auto';
  client: UploadRunResult;
  sink: SinkStats;
  valid: boolean;
  hostPid: number;
  /** Spawn until the host answered (the orchestrator starts it before the client runs). */
  hostStartMs: number;
  hostBefore: HostReading;
  /** Right after the last completion. */
  hostAfterUploads: HostReading;
  /** After the enumeration timings (a list reply of every operation is built in the host). */
  hostAfterList: HostReading | undefined;
  store: StoreTiming | undefined;
  list: ListTiming[];
  cliList: CliTiming[];
  cliVersion: CliTiming | undefined;
}

export function isValidUploadRun(client: UploadRunResult, sink: SinkStats, count: number, size: number): boolean {
  return (
    !client.timedOut &&
    client.completed === count &&
    client.failed === 0 &&
    (sink.byMethod.PUT ?? 0) === count &&
    sink.putWrongSize === 0 &&
    sink.putBodyBytes === count * size
  );
}

function rate(run: { client: UploadRunResult; valid: boolean }): number {
  return run.valid ? run.client.uploadsPerSecond : Number.NaN;
}

export interface Summary {
  undiciUploadsPerSecond: number;
  noneUploadsPerSecond: number;
  autoUploadsPerSecond: number;
  /** median(bgtransfer none) / median(undici). */
  noneRatio: number;
  autoRatio: number;
  /** median(auto) / median(none) of the rates. */
  autoVsNone: number;
  /** Per run with both sides valid, auto's rate over none's (side by side, alternating order): their median. */
  autoVsNonePaired: number;
  /** The same pairs' host CPU per upload, auto over none: their median (above 1: 'auto' costs more). */
  autoVsNoneHostCpuPaired: number;
  /** Each pair's host CPU ratio, in run order. */
  autoVsNoneHostCpuPairs: number[];
  noneStoreUploadsPerSecond: number;
  /** Host VmRSS once started, before any upload (median). */
  hostIdleRssBytes: number;
  /** Host VmHWM right after the last completion: the peak while uploading (max over runs). */
  hostPeakRssUploadsBytes: number;
  /** Host VmHWM after the enumeration timings too (max over runs). */
  hostPeakRssBytes: number;
  hostCpuMsPerUploadNone: number;
  listColdMs: number;
  listWarmMs: number;
  listProcessWallMs: number;
  cliListWallMs: number;
  cliVersionWallMs: number;
}

export function summarize(baselines: readonly BaselineRun[], hostRuns: readonly HostRun[]): Summary {
  const none = hostRuns.filter((run) => run.resumeProtocol === 'none');
  const auto = hostRuns.filter((run) => run.resumeProtocol === 'auto');
  const undiciRate = median(baselines.map(rate));
  const noneRate = median(none.map(rate));
  const autoRate = median(auto.map(rate));
  const lists = none.flatMap((run) => run.list);
  const pairs = none.flatMap((noneRun): [HostRun, HostRun][] => {
    const autoRun = auto.find((run) => run.run === noneRun.run);
    return autoRun?.valid && noneRun.valid ? [[noneRun, autoRun]] : [];
  });
  const hostCpuPairs = pairs.map(([noneRun, autoRun]) => hostCpuMsPerUpload(autoRun) / hostCpuMsPerUpload(noneRun));
  return {
    undiciUploadsPerSecond: undiciRate,
    noneUploadsPerSecond: noneRate,
    autoUploadsPerSecond: autoRate,
    noneRatio: noneRate / undiciRate,
    autoRatio: autoRate / undiciRate,
    autoVsNone: autoRate / noneRate,
    autoVsNonePaired: median(pairs.map(([noneRun, autoRun]) => rate(autoRun) / rate(noneRun))),
    autoVsNoneHostCpuPaired: median(hostCpuPairs),
    autoVsNoneHostCpuPairs: hostCpuPairs,
    noneStoreUploadsPerSecond: median(none.map((run) => run.store?.uploadsPerSecond ?? Number.NaN)),
    hostIdleRssBytes: median(hostRuns.map((run) => run.hostBefore.vmRssBytes)),
    hostPeakRssUploadsBytes: Math.max(0, ...hostRuns.map((run) => run.hostAfterUploads.vmHwmBytes)),
    hostPeakRssBytes: Math.max(0, ...hostRuns.map((run) => peakOf(run))),
    hostCpuMsPerUploadNone: median(none.map((run) => hostCpuMsPerUpload(run))),
    listColdMs: median(lists.map((list) => list.result?.coldMs ?? Number.NaN)),
    listWarmMs: median(lists.map((list) => list.result?.warmMs ?? Number.NaN)),
    listProcessWallMs: median(lists.map((list) => (list.result ? list.processWallMs : Number.NaN))),
    cliListWallMs: median(none.flatMap((run) => run.cliList.map((cli) => cli.wallMs))),
    cliVersionWallMs: median(none.map((run) => run.cliVersion?.wallMs ?? Number.NaN)),
  };
}

function peakOf(run: HostRun): number {
  return Math.max(run.hostAfterUploads.vmHwmBytes, run.hostAfterList?.vmHwmBytes ?? 0);
}

function hostCpuMsPerUpload(run: HostRun): number {
  if (!run.valid) return Number.NaN;
  return ((run.hostAfterUploads.cpuSeconds - run.hostBefore.cpuSeconds) * 1000) / run.client.count;
}

export interface Conditions {
  count: number;
  sizeBytes: number;
  concurrency: number;
  window: number;
  /** Where the host, the client's library and the CLI run from: 'source under tsx' or 'built: <dist>'. */
  code: string;
}

export function renderMarkdown(
  conditions: Conditions,
  baselines: readonly BaselineRun[],
  hostRuns: readonly HostRun[],
  summary: Summary,
): string {
  const { count, sizeBytes, concurrency, window, code } = conditions;
  const undiciByRun = new Map(baselines.map((run) => [run.run, rate(run)]));
  const lines = [
    `${count} PUTs of ${sizeBytes} bytes (one distinct file each) to a loopback node:http server, ${concurrency} at a time`,
    `(bgtransfer: host maxConcurrentTransfers ${concurrency}, client keeps at most ${window || count} started and unsettled; ${code})`,
    '',
    '| run | side | uploads/s | seconds | vs undici (same run) | first completion | host-stored uploads/s | requests at server | host CPU ms/upload | client CPU ms/upload | host VmHWM after uploads |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const run of [...interleave(baselines, hostRuns)]) {
    const uploads = rate(run);
    const isHost = run.side === 'bgtransfer';
    const side = isHost ? `bgtransfer (${run.resumeProtocol})` : 'undici request()';
    const versus = isHost ? uploads / (undiciByRun.get(run.run) ?? Number.NaN) : Number.NaN;
    lines.push(
      `| ${run.run} | ${side}${run.valid ? '' : ' **INVALID**'} | ${fixed(uploads, 0)} | ${fixed(run.client.totalMs / 1000, 2)} | ${isHost ? fixed(versus, 2) : ''} | ${fixed(run.client.firstCompletionMs, 0)} ms | ${isHost ? fixed(run.store?.uploadsPerSecond ?? Number.NaN, 0) : ''} | ${requests(run.sink)} | ${isHost ? fixed(hostCpuMsPerUpload(run), 2) : ''} | ${fixed(run.client.clientCpuMs / run.client.count, 2)} | ${isHost ? mib(run.hostAfterUploads.vmHwmBytes) : ''} |`,
    );
  }
  lines.push(
    '',
    '| median | uploads/s | ratio to undici |',
    '|---|---|---|',
    `| undici request() | ${fixed(summary.undiciUploadsPerSecond, 0)} | 1.00 |`,
    `| bgtransfer, resumeProtocol none | ${fixed(summary.noneUploadsPerSecond, 0)} | ${fixed(summary.noneRatio, 2)} |`,
    `| bgtransfer, resumeProtocol auto (endpoint probed once, then remembered) | ${fixed(summary.autoUploadsPerSecond, 0)} | ${fixed(summary.autoRatio, 2)} (auto/none ${fixed(summary.autoVsNone, 2)}) |`,
    '',
    `'auto' against 'none', side by side in each run (median of the pairs): rate ${fixed(summary.autoVsNonePaired, 2)}, host CPU per upload ${fixed(summary.autoVsNoneHostCpuPaired, 2)} (pairs: ${summary.autoVsNoneHostCpuPairs.map((ratio) => fixed(ratio, 2)).join(', ') || 'none'})`,
    '',
    `Host RSS: ${mib(summary.hostIdleRssBytes)} idle (${code}), peak (VmHWM) ${mib(summary.hostPeakRssUploadsBytes)} while uploading, ${mib(summary.hostPeakRssBytes)} after the enumerations below`,
    '',
    `Enumeration with ${count} operations stored (median of every sample)`,
    '',
    '| measure | median | samples |',
    '|---|---|---|',
    `| getCurrentUploadsAsync(), first call in a fresh process (connect included) | ${fixed(summary.listColdMs, 0)} ms | ${samples(hostRuns, (run) => run.list.map((list) => list.result?.coldMs ?? Number.NaN))} |`,
    `| getCurrentUploadsAsync(), second call on the open connection | ${fixed(summary.listWarmMs, 0)} ms | ${samples(hostRuns, (run) => run.list.map((list) => list.result?.warmMs ?? Number.NaN))} |`,
    `| that fresh process, spawn to exit (Node + tsx start-up included) | ${fixed(summary.listProcessWallMs, 0)} ms | ${samples(hostRuns, (run) => run.list.map((list) => list.processWallMs))} |`,
    `| \`bgtransfer list --json\` from source (tsx), spawn to exit | ${fixed(summary.cliListWallMs, 0)} ms | ${samples(hostRuns, (run) => run.cliList.map((cli) => cli.wallMs))} |`,
    `| \`bgtransfer --version\` from source (start-up alone) | ${fixed(summary.cliVersionWallMs, 0)} ms | ${samples(hostRuns, (run) => (run.cliVersion ? [run.cliVersion.wallMs] : []))} |`,
  );
  return lines.join('\n');
}

/** Baseline and host runs in the order they ran: per run number, undici first. */
function* interleave(
  baselines: readonly BaselineRun[],
  hostRuns: readonly HostRun[],
): Generator<BaselineRun | HostRun> {
  for (const baseline of baselines) {
    yield baseline;
    yield* hostRuns.filter((run) => run.run === baseline.run);
  }
  yield* hostRuns.filter((run) => !baselines.some((baseline) => baseline.run === run.run));
}

function samples(hostRuns: readonly HostRun[], of: (run: HostRun) => number[]): string {
  return hostRuns
    .filter((run) => run.resumeProtocol === 'none')
    .flatMap(of)
    .map((value) => fixed(value, 0))
    .join(', ');
}

function requests(sink: SinkStats): string {
  return Object.entries(sink.byMethod)
    .map(([method, count]) => `${count} ${method}`)
    .join(' + ');
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

function mib(bytes: number): string {
  return Number.isFinite(bytes) && bytes > 0 ? `${mebibytes(bytes).toFixed(0)} MiB` : 'n/a';
}
