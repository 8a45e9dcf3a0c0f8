import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fileCrc32, startPutSink } from './put-sink-server.ts';
import { createRandomFile } from './random-file.ts';
import { benchEnvironment, writeBenchResult } from './result-file.ts';
import { median } from './stats.ts';
import { assertGnuTime, processCpuSeconds, type TimedRun, threadCpuSeconds, timedRun } from './timed-run.ts';
import { startHost, stopHost } from './transfer-host.ts';

/**
 * Paired before/after measure of one big PUT: curl -T against two or more built trees of this
 * repository (each with its own dist/), in the same rounds, so every side sees the same machine load.
 *
 *   node --conditions=source --import tsx bench/put-paired.ts --trees BEFORE,. \
 *        [--size-mib 1024] [--rounds 5] [--mode inproc|cli] [--label name]
 *
 * inproc: each tree's bench/put-once-built.mjs (BGTRANSFER_HOST=inproc, fresh home, resumeProtocol
 * 'none'), the whole process from spawn to exit. cli: each tree's built CLI through its own transfer
 * host, started before the rounds (CPU = CLI + host, the host's from /proc). Each round runs curl and
 * the trees in a rotating order; a run counts only if the server got every byte with the file's CRC-32 (put-sink-server.ts).
 * The main thread's CPU is reported apart (in-process: the app's, via main-thread-cpu.cjs; cli: the
 * host's): on two cores it, not the whole process's CPU, is what bounds the wall time.
 * Prints medians and writes bench/results/put-paired-<label>-<timestamp>.json.
 */

const { values } = parseArgs({
  options: {
    trees: { type: 'string' },
    'size-mib': { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '5' },
    mode: { type: 'string', default: 'inproc' },
    label: { type: 'string', default: 'run' },
  },
});
const trees = (values.trees ?? '')
  .split(',')
  .filter((tree) => tree !== '')
  .map((tree) => resolve(tree));
if (trees.length === 0) throw new Error('--trees DIR[,DIR…] is required');
const mode = values.mode === 'cli' ? 'cli' : 'inproc';
const sizeBytes = Number(values['size-mib']) * 1024 * 1024;
const rounds = Number(values.rounds);
assertGnuTime();

interface PairedSample {
  side: string;
  round: number;
  ok: boolean;
  wallSeconds: number;
  cpuSeconds: number;
  hostCpuSeconds?: number;
  /** The main thread's CPU: the app's in-process (main-thread-cpu.cjs), the host's through the CLI. */
  mainThreadCpuSeconds: number;
  maxRssBytes: number;
  serverBodySeconds: number;
  sinkCpuSeconds: number;
}

const loadBefore = loadavg();
const workDir = await mkdtemp(join(tmpdir(), 'bgtransfer-put-paired-'));
const sink = await startPutSink();
const samples: PairedSample[] = [];
const hosts = new Map<string, Awaited<ReturnType<typeof startHost>>>();
try {
  const file = join(workDir, 'random.bin');
  await createRandomFile(file, sizeBytes);
  const crc = await fileCrc32(file);
  const name = (tree: string, index: number): string => `${index}:${basename(tree)}`;
  if (mode === 'cli') {
    for (const [index, tree] of trees.entries()) {
      hosts.set(tree, await startHost(join(tree, 'dist/cli/main.js'), join(workDir, `home-${index}`)));
    }
  }
  const sides: Array<{ side: string; run: (round: number) => Promise<void> }> = [
    {
      side: 'curl',
      run: async (round) => {
        const received = sink.nextRequest('PUT');
        const args = ['-sS', '-T', file, '-o', '/dev/null', '-w', '%{http_code}', `${sink.url}/curl-${round}`];
        const run = await timedRun('curl', args);
        await record('curl', round, run, run.exitCode === 0 && run.stdout.trim() === '201', received, crc, {
          mainThreadCpuSeconds: Number.NaN,
        });
      },
    },
    ...trees.map((tree, index) => ({
      side: name(tree, index),
      run: async (round: number) => {
        const received = sink.nextRequest('PUT');
        const url = `${sink.url}/${index}-${round}`;
        if (mode === 'inproc') {
          const home = join(workDir, `inproc-${index}-${round}`);
          const preload = fileURLToPath(new URL('main-thread-cpu.cjs', import.meta.url));
          const run = await timedRun(
            process.execPath,
            ['--require', preload, join(tree, 'bench/put-once-built.mjs'), url, file],
            {
              env: { ...process.env, BGTRANSFER_HOST: 'inproc', BGTRANSFER_HOME: home, BGTRANSFER_APP_ID: 'bench' },
              cwd: tree,
            },
          );
          const main = /^main-thread-cpu (\S+)$/m.exec(run.stderr);
          await record(name(tree, index), round, run, run.exitCode === 0, received, crc, {
            mainThreadCpuSeconds: main ? Number(main[1]) : Number.NaN,
          });
          await rm(home, { recursive: true, force: true });
          return;
        }
        const host = hosts.get(tree);
        const hostPid = host?.pid ?? -1;
        const before = processCpuSeconds(hostPid);
        const mainBefore = threadCpuSeconds(hostPid, hostPid);
        const run = await timedRun(
          process.execPath,
          [join(tree, 'dist/cli/main.js'), 'upload', file, url, '--method', 'PUT'],
          { env: { ...process.env, BGTRANSFER_HOST: 'auto', BGTRANSFER_HOME: join(workDir, `home-${index}`) } },
        );
        const hostCpu = processCpuSeconds(hostPid) - before;
        await record(
          name(tree, index),
          round,
          { ...run, cpuSeconds: run.cpuSeconds + hostCpu },
          run.exitCode === 0,
          received,
          crc,
          { hostCpuSeconds: hostCpu, mainThreadCpuSeconds: threadCpuSeconds(hostPid, hostPid) - mainBefore },
        );
      },
    })),
  ];
  for (let round = 1; round <= rounds; round++) {
    const shift = round % sides.length;
    for (const side of [...sides.slice(shift), ...sides.slice(0, shift)]) await side.run(round);
  }
} finally {
  for (const host of hosts.values()) await stopHost(host);
  await sink.close();
  await rm(workDir, { recursive: true, force: true });
}

const table = [...new Set(samples.map((sample) => sample.side))].map((side) => {
  const mine = samples.filter((sample) => sample.side === side && sample.ok);
  const pick = (key: keyof PairedSample) => median(mine.map((sample) => Number(sample[key] ?? Number.NaN)));
  return {
    side,
    ok: mine.length,
    cpuSeconds: pick('cpuSeconds'),
    hostCpuSeconds: pick('hostCpuSeconds'),
    mainThreadCpuSeconds: pick('mainThreadCpuSeconds'),
    wallSeconds: pick('wallSeconds'),
    serverBodySeconds: pick('serverBodySeconds'),
    sinkCpuSeconds: pick('sinkCpuSeconds'),
    maxRssMiB: pick('maxRssBytes') / 2 ** 20,
  };
});
console.log(
  `mode ${mode}, ${sizeBytes / 2 ** 20} MiB, ${rounds} rounds, load ${loadBefore.map((l) => l.toFixed(1)).join(' ')} → ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log(
  '| side | ok | CPU s | host CPU s | main thread CPU s | wall s | server body s | sink CPU s | peak RSS MiB |\n|---|---|---|---|---|---|---|---|---|',
);
for (const row of table) {
  console.log(
    `| ${row.side} | ${row.ok} | ${row.cpuSeconds.toFixed(2)} | ${optional(row.hostCpuSeconds)} | ${optional(row.mainThreadCpuSeconds)} | ${row.wallSeconds.toFixed(2)} | ${row.serverBodySeconds.toFixed(2)} | ${row.sinkCpuSeconds.toFixed(2)} | ${row.maxRssMiB.toFixed(1)} |`,
  );
}
function optional(value: number): string {
  return Number.isFinite(value) ? value.toFixed(2) : '';
}

const date = new Date();
const path = await writeBenchResult(`put-paired-${values.label}`, date, {
  benchmark: 'put-paired',
  date: date.toISOString(),
  mode,
  // Each tree's directory name only: a result file is committed, the machine's paths are not its business.
  trees: trees.map((tree) => basename(tree)),
  sizeBytes,
  rounds,
  environment: benchEnvironment(loadBefore),
  table,
  samples,
});
console.log(`results: ${path}`);

async function record(
  side: string,
  round: number,
  run: TimedRun,
  exitOk: boolean,
  received: Promise<{ bytes: number; crc32: number; bodySeconds: number; sinkCpuSeconds: number }>,
  crc: number,
  threads: { hostCpuSeconds?: number; mainThreadCpuSeconds: number },
): Promise<void> {
  const request = exitOk ? await Promise.race([received, sleep(10_000).then(() => undefined)]) : undefined;
  const ok = request !== undefined && request.bytes === sizeBytes && request.crc32 === crc;
  samples.push({
    side,
    round,
    ok,
    wallSeconds: run.wallSeconds,
    cpuSeconds: run.cpuSeconds,
    ...(threads.hostCpuSeconds === undefined ? {} : { hostCpuSeconds: threads.hostCpuSeconds }),
    mainThreadCpuSeconds: threads.mainThreadCpuSeconds,
    maxRssBytes: run.maxRssBytes,
    serverBodySeconds: request?.bodySeconds ?? Number.NaN,
    sinkCpuSeconds: request?.sinkCpuSeconds ?? Number.NaN,
  });
  process.stderr.write(
    `#${round} ${side}: ${ok ? 'ok' : `FAILED ${run.stderr.trim().split('\n').slice(-2).join(' | ')}`} ` +
      `${run.wallSeconds.toFixed(2)} s wall, ${run.cpuSeconds.toFixed(2)} s CPU\n`,
  );
}
