import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { listenOnLoopback } from '../test/helpers/loopback.ts';
import { benchEnvironment, writeBenchResult } from './result-file.ts';
import { median } from './stats.ts';
import { countingPlainServer, writeSmallFiles } from './summary-extra.ts';
import { assertGnuTime, timedRun } from './timed-run.ts';

/**
 * The cost of `resumeProtocol 'auto'` against `'none'` for two or more built trees in the same run:
 * each tree's bench/many-uploads-once.mjs (`count` uploads of 4 KiB in-process, one URL per file, to
 * one plain node:http endpoint) with both protocols, the tree × protocol runs in an order that rotates
 * every round. Per round and tree the ratio auto/none of wall and CPU (GNU time: user + system);
 * medians over the rounds. A run counts only if every upload got its 2xx and 'none' sent no OPTIONS.
 * Writes bench/results/auto-paired-<timestamp>.json. Each tree needs `npm run build`.
 *
 *   node --conditions=source --import tsx bench/auto-paired.ts --trees BEFORE,. [--count 1000] [--rounds 6]
 */

const { values } = parseArgs({
  options: {
    trees: { type: 'string' },
    count: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '6' },
  },
});
const trees = (values.trees ?? '')
  .split(',')
  .filter((tree) => tree !== '')
  .map((tree) => resolve(tree));
if (trees.length === 0) throw new Error('--trees DIR[,DIR…] is required');
const count = Number(values.count);
const rounds = Number(values.rounds);
assertGnuTime();

interface Sample {
  tree: string;
  protocol: 'none' | 'auto';
  round: number;
  ok: boolean;
  wallSeconds: number;
  cpuSeconds: number;
  options: number;
  load: number;
}

const loadBefore = loadavg();
const started = new Date();
const work = await mkdtemp(join(tmpdir(), 'bgtransfer-auto-paired-'));
const { server, methods } = countingPlainServer();
const { url } = await listenOnLoopback(server);
const samples: Sample[] = [];
try {
  const dir = join(work, 'files');
  await writeSmallFiles(dir, count);
  const runs = trees.flatMap((tree) => (['none', 'auto'] as const).map((protocol) => ({ tree, protocol })));
  for (let round = 1; round <= rounds; round++) {
    const shift = round % runs.length;
    for (const { tree, protocol } of [...runs.slice(shift), ...runs.slice(0, shift)]) {
      const home = join(work, `home-${round}-${protocol}-${basename(tree)}`);
      methods.clear();
      const load = loadavg()[0] ?? Number.NaN;
      const run = await timedRun(
        process.execPath,
        [join(tree, 'bench/many-uploads-once.mjs'), protocol, `${url}/${protocol}-${round}`, dir, String(count)],
        {
          env: { ...process.env, BGTRANSFER_HOST: 'inproc', BGTRANSFER_HOME: home, BGTRANSFER_APP_ID: 'bench' },
          cwd: tree,
        },
      );
      await rm(home, { recursive: true, force: true });
      const options = methods.get('OPTIONS') ?? 0;
      const ok = run.exitCode === 0 && methods.get('PUT') === count && (protocol === 'auto' || options === 0);
      samples.push({
        tree,
        protocol,
        round,
        ok,
        wallSeconds: run.wallSeconds,
        cpuSeconds: run.cpuSeconds,
        options,
        load,
      });
      process.stderr.write(
        `#${round} ${basename(tree)} ${protocol}: ${ok ? 'ok' : 'FAILED'} ${run.wallSeconds.toFixed(2)} s wall, ` +
          `${run.cpuSeconds.toFixed(2)} s CPU, ${options} OPTIONS, load ${load.toFixed(1)}\n`,
      );
    }
  }
} finally {
  server.closeAllConnections();
  await new Promise((done) => server.close(done));
  await rm(work, { recursive: true, force: true });
}

const ratios = trees.map((tree) => {
  const perRound = [];
  for (let round = 1; round <= rounds; round++) {
    const of = (protocol: string) =>
      samples.find((s) => s.tree === tree && s.round === round && s.protocol === protocol);
    const none = of('none');
    const auto = of('auto');
    if (!none?.ok || !auto?.ok) continue;
    perRound.push({ round, wall: auto.wallSeconds / none.wallSeconds, cpu: auto.cpuSeconds / none.cpuSeconds });
  }
  return {
    tree,
    perRound,
    medianWallRatio: median(perRound.map((r) => r.wall)),
    medianCpuRatio: median(perRound.map((r) => r.cpu)),
  };
});
for (const { tree, perRound, medianWallRatio, medianCpuRatio } of ratios) {
  process.stdout.write(
    `${tree}: auto/none wall ${medianWallRatio.toFixed(3)}, CPU ${medianCpuRatio.toFixed(3)} (median of ${perRound.length}; ` +
      `CPU per round ${perRound.map((r) => r.cpu.toFixed(2)).join(' ')})\n`,
  );
}
const path = await writeBenchResult('auto-paired', started, {
  count,
  rounds,
  environment: benchEnvironment(loadBefore),
  ratios,
  samples,
});
process.stdout.write(`${path}\n`);
