import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startDownloadServer } from '../test/helpers/download-server.ts';
import { createRandomFile } from './random-file.ts';
import { benchEnvironment, writeBenchResult } from './result-file.ts';

/**
 * What V8's garbage collector does in the transfer host during one GET: the built host (`bgtransfer
 * host`, as the download benches start it) runs with `--trace-gc --trace-incremental-marking`, the built
 * CLI downloads one file from the node:http range server, and the trace lines of that download are
 * counted: mark-compacts and scavenges with their main-thread ms, and why each incremental marking began.
 *
 *   node --conditions=source --import tsx bench/download-gc-trace.ts [--size-mib 512] [--cli dist/cli/main.js] [--warm 0]
 *
 * `--warm N` first runs N downloads of the same file through the same host, unmeasured (a host that
 * has collected before). Writes bench/results/download-gc-trace-<timestamp>.json. Needs `npm run build`.
 */

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '512' },
    cli: { type: 'string', default: join(ROOT, 'dist/cli/main.js') },
    warm: { type: 'string', default: '0' },
  },
});
const CLI = values.cli;
const sizeMib = Number(values['size-mib']);
const warm = Number(values.warm);
const loadBefore = loadavg();
const workDir = await mkdtemp(join(tmpdir(), 'bgtransfer-bench-gctrace-'));
const server = await startDownloadServer();
const home = join(workDir, 'home');
const env = { ...process.env, BGTRANSFER_HOST: 'auto', BGTRANSFER_HOME: home };
const host = spawn(process.execPath, ['--trace-gc', '--trace-incremental-marking', CLI, 'host'], {
  env,
  stdio: ['ignore', 'pipe', 'ignore'],
});
let trace = '';
host.stdout.setEncoding('utf8').on('data', (text: string) => {
  trace += text;
});
const run = (args: string[]) =>
  new Promise<number | null>((resolve) =>
    spawn(process.execPath, [CLI, ...args], { env, stdio: 'ignore' }).once('exit', resolve),
  );
/** utime + stime of the host, in seconds (/proc/<pid>/stat fields 14 and 15, after the command name). */
const hostCpu = () => {
  const fields = readFileSync(`/proc/${host.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
let result: object;
try {
  const file = join(workDir, 'random.bin');
  await createRandomFile(file, sizeMib * 1024 * 1024);
  await server.serve('/random.bin', file, {});
  const url = `${server.url}/random.bin`;
  for (let attempt = 0; (await run(['host', 'status'])) !== 0; attempt++) {
    if (attempt > 200) throw new Error('the transfer host did not start');
    await sleep(100);
  }
  for (let i = 0; i < warm; i++) await run(['download', url, join(workDir, `warm-${i}.bin`)]);
  const cpuBefore = hostCpu();
  const mark = trace.length;
  const started = performance.now();
  const exitCode = await run(['download', url, join(workDir, 'out.bin')]);
  const wallSeconds = (performance.now() - started) / 1000;
  const hostCpuSeconds = hostCpu() - cpuBefore;
  const peak = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${host.pid}/status`, 'utf8'))?.[1];
  const lines = trace.slice(mark).split('\n');
  const sum = (kind: string) => {
    const matching = lines.filter((line) => line.includes(`ms: ${kind} `));
    const ms = matching.reduce((total, line) => total + Number(/MB, ([\d.]+) \//.exec(line)?.[1] ?? 0), 0);
    return { count: matching.length, mainThreadMs: Math.round(ms) };
  };
  const markingStarts: Record<string, number> = {};
  for (const line of lines) {
    const reason = /\[IncrementalMarking\] Start \(([^)]*)\)/.exec(line)?.[1];
    if (reason !== undefined) markingStarts[reason] = (markingStarts[reason] ?? 0) + 1;
  }
  result = {
    exitCode,
    wallSeconds,
    hostCpuSeconds,
    hostPeakRssMiB: Number(peak) / 1024,
    markCompact: sum('Mark-Compact'),
    scavenge: sum('Scavenge'),
    markingStarts,
    firstMarkingStart: lines
      .find((line) => line.includes('[IncrementalMarking] Start ('))
      ?.replace(/^\[[^\]]*\]\s*/, ''),
  };
} finally {
  host.kill('SIGTERM');
  await new Promise((resolve) => host.once('exit', resolve));
  await server.close();
  await rm(workDir, { recursive: true, force: true });
}
console.log(JSON.stringify(result, null, 2));
const date = new Date();
const path = await writeBenchResult('download-gc-trace', date, {
  benchmark: 'download-gc-trace',
  date: date.toISOString(),
  sizeBytes: sizeMib * 1024 * 1024,
  warm,
  cli: values.cli,
  environment: benchEnvironment(loadBefore),
  result,
});
console.log(`results: ${path}`);
