import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startDownloadServer } from '../test/helpers/download-server.ts';
import { startPutSink } from './put-sink-server.ts';
import { benchEnvironment, writeBenchResult } from './result-file.ts';
import { median } from './stats.ts';
import { assertGnuTime, processCpuSeconds, timedRun } from './timed-run.ts';
import { startHost, stopHost } from './transfer-host.ts';

/**
 * What the built CLI costs around a transfer that moves nothing: `bgtransfer upload` of a 1-byte file
 * and `bgtransfer download` of a 1-byte file, each through a transfer host of its own tree that is
 * already running, for two or more built trees in the same rounds (rotating order), with `node -e 0`
 * once per round for scale. Wall, CPU (the CLI's; the host's from /proc, apart) and peak RSS from GNU
 * time; medians. Writes bench/results/cli-start-paired-<timestamp>.json.
 *
 *   node --conditions=source --import tsx bench/cli-start-paired.ts --trees BEFORE,. [--rounds 10]
 */

const { values } = parseArgs({
  options: { trees: { type: 'string' }, rounds: { type: 'string', default: '10' } },
});
const trees = (values.trees ?? '')
  .split(',')
  .filter((tree) => tree !== '')
  .map((tree) => resolve(tree));
if (trees.length === 0) throw new Error('--trees DIR[,DIR…] is required');
const rounds = Number(values.rounds);
assertGnuTime();

interface Sample {
  side: string;
  measure: 'upload' | 'download' | 'node -e 0';
  round: number;
  ok: boolean;
  wallSeconds: number;
  cpuSeconds: number;
  hostCpuSeconds: number;
  maxRssBytes: number;
}

const loadBefore = loadavg();
const work = await mkdtemp(join(tmpdir(), 'bgtransfer-cli-start-'));
const sink = await startPutSink();
const server = await startDownloadServer();
const samples: Sample[] = [];
const hosts: Array<Awaited<ReturnType<typeof startHost>>> = [];
try {
  const one = join(work, 'one.bin');
  await writeFile(one, 'x');
  await server.serve('/one.bin', one);
  const sides = [];
  for (const [index, tree] of trees.entries()) {
    const home = join(work, `home-${index}`);
    const cli = join(tree, 'dist/cli/main.js');
    const host = await startHost(cli, home);
    hosts.push(host);
    sides.push({
      side: `${index}:${basename(tree)}`,
      cli,
      host,
      env: { ...process.env, BGTRANSFER_HOST: 'auto', BGTRANSFER_HOME: home },
    });
  }
  for (let round = 1; round <= rounds; round++) {
    const node = await timedRun(process.execPath, ['-e', '0']);
    samples.push({
      side: 'node',
      measure: 'node -e 0',
      round,
      ok: node.exitCode === 0,
      wallSeconds: node.wallSeconds,
      cpuSeconds: node.cpuSeconds,
      hostCpuSeconds: 0,
      maxRssBytes: node.maxRssBytes,
    });
    const shift = round % sides.length;
    for (const side of [...sides.slice(shift), ...sides.slice(0, shift)]) {
      for (const measure of ['upload', 'download'] as const) {
        const args =
          measure === 'upload'
            ? ['upload', one, `${sink.url}/${side.side}-${round}`, '--method', 'PUT']
            : ['download', `${server.url}/one.bin`, join(work, `out-${round}.bin`)];
        const received = measure === 'upload' ? sink.nextRequest('PUT') : undefined;
        const before = processCpuSeconds(side.host.pid ?? -1);
        const run = await timedRun(process.execPath, [side.cli, ...args], { env: side.env });
        const hostCpuSeconds = processCpuSeconds(side.host.pid ?? -1) - before;
        if (received) await received;
        const ok = run.exitCode === 0 && run.stdout.includes('completed:');
        samples.push({
          side: side.side,
          measure,
          round,
          ok,
          wallSeconds: run.wallSeconds,
          cpuSeconds: run.cpuSeconds,
          hostCpuSeconds,
          maxRssBytes: run.maxRssBytes,
        });
        if (!ok) process.stderr.write(`#${round} ${side.side} ${measure} FAILED: ${run.stderr.trim().slice(-300)}\n`);
      }
    }
    process.stderr.write(`round ${round} done, load ${loadavg()[0]?.toFixed(1)}\n`);
  }
} finally {
  for (const host of hosts) await stopHost(host);
  await sink.close();
  await server.close();
  await rm(work, { recursive: true, force: true });
}

const keys = [...new Set(samples.map((sample) => `${sample.side}|${sample.measure}`))];
const table = keys.map((key) => {
  const [side, measure] = key.split('|');
  const mine = samples.filter((sample) => sample.side === side && sample.measure === measure && sample.ok);
  const pick = (get: (sample: Sample) => number) => median(mine.map(get));
  return {
    side,
    measure,
    ok: mine.length,
    wallSeconds: pick((sample) => sample.wallSeconds),
    cpuSeconds: pick((sample) => sample.cpuSeconds),
    hostCpuSeconds: pick((sample) => sample.hostCpuSeconds),
    maxRssMiB: pick((sample) => sample.maxRssBytes) / 2 ** 20,
  };
});
const loadAfter = loadavg();
console.log(
  `${rounds} rounds, load ${loadBefore.map((l) => l.toFixed(1)).join(' ')} → ${loadAfter.map((l) => l.toFixed(1)).join(' ')}; medians`,
);
console.log(
  '| side | measure | ok | wall s | CLI CPU s | host CPU s | CLI peak RSS MiB |\n|---|---|---|---|---|---|---|',
);
for (const row of table) {
  console.log(
    `| ${row.side} | ${row.measure} | ${row.ok} | ${row.wallSeconds.toFixed(3)} | ${row.cpuSeconds.toFixed(3)} | ${row.hostCpuSeconds.toFixed(3)} | ${row.maxRssMiB.toFixed(1)} |`,
  );
}
const date = new Date();
const path = await writeBenchResult('cli-start-paired', date, {
  benchmark: 'cli-start-paired',
  date: date.toISOString(),
  trees,
  rounds,
  environment: benchEnvironment(loadBefore),
  table,
  samples,
});
console.log(`results: ${path}`);
