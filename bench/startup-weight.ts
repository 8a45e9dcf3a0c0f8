import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startPutSink } from './put-sink-server.ts';
import { benchEnvironment, writeBenchResult } from './result-file.ts';
import { assertGnuTime, type TimedRun, timedRun } from './timed-run.ts';

/**
 * What the package costs before the first byte moves, for builds side by side (paired: every round
 * runs each build, in turn, in the same minute):
 *
 *   node --conditions=source --import tsx bench/startup-weight.ts --root NAME=DIR … [--rounds 10]
 *
 * DIR is a checkout with a build (DIR/dist, DIR/bench/put-once-built.mjs). Per round and build:
 * - an in-process upload of an empty file (`put-once-built.mjs`, BGTRANSFER_HOST=inproc, a fresh home,
 *   PUT to a loopback node:http sink): the engine's whole fixed cost, spawn to exit;
 * - `import('bgtransfer')` in a fresh process;
 * and once per round `node -e 0` for scale. Wall, CPU (user + system) and peak RSS from GNU time.
 * Writes bench/results/startup-weight-<timestamp>.json.
 */

const { values } = parseArgs({
  options: { root: { type: 'string', multiple: true }, rounds: { type: 'string', default: '10' } },
});
const roots = (values.root ?? []).map((text) => {
  const [name, dir] = text.split('=');
  if (!name || !dir) throw new Error(`--root NAME=DIR, got ${text}`);
  return { name, dir: resolve(dir) };
});
if (roots.length === 0) throw new Error('give at least one --root NAME=DIR');
const rounds = Number(values.rounds);
assertGnuTime();

interface Sample {
  round: number;
  side: string;
  measure: 'inproc-empty-upload' | 'import' | 'node -e 0';
  wallSeconds: number;
  cpuSeconds: number;
  maxRssMiB: number;
  ok: boolean;
}

const startedAt = new Date();
const loadBefore = loadavg();
const work = await mkdtemp(join(tmpdir(), 'bgt-startup-'));
const sink = await startPutSink();
const samples: Sample[] = [];
try {
  const empty = join(work, 'empty.bin');
  await writeFile(empty, '');
  for (let round = 1; round <= rounds; round++) {
    samples.push(sample(round, 'node', 'node -e 0', await timedRun(process.execPath, ['-e', '0']), true));
    for (const root of roots) {
      const home = await mkdtemp(join(work, 'home-'));
      const env = { ...process.env, BGTRANSFER_HOST: 'inproc', BGTRANSFER_HOME: home, BGTRANSFER_APP_ID: 'startup' };
      const upload = await timedRun(
        process.execPath,
        [join(root.dir, 'bench', 'put-once-built.mjs'), `${sink.url}/empty`, empty],
        { env, cwd: root.dir },
      );
      samples.push(sample(round, root.name, 'inproc-empty-upload', upload, upload.stdout.startsWith('completed 2')));
      const imported = await timedRun(process.execPath, ['--input-type=module', '-e', "await import('bgtransfer')"], {
        cwd: root.dir,
      });
      samples.push(sample(round, root.name, 'import', imported, imported.exitCode === 0));
      await rm(home, { recursive: true, force: true });
    }
  }
} finally {
  await sink.close();
  await rm(work, { recursive: true, force: true });
}

const summary: Record<string, { cpu: number; wall: number; rssMiB: number; valid: number }> = {};
for (const side of ['node', ...roots.map((root) => root.name)]) {
  for (const measure of ['node -e 0', 'inproc-empty-upload', 'import'] as const) {
    const mine = samples.filter((s) => s.side === side && s.measure === measure && s.ok);
    if (mine.length === 0) continue;
    summary[`${side} ${measure}`] = {
      cpu: median(mine.map((s) => s.cpuSeconds)),
      wall: median(mine.map((s) => s.wallSeconds)),
      rssMiB: median(mine.map((s) => s.maxRssMiB)),
      valid: mine.length,
    };
  }
}
console.table(summary);
const path = await writeBenchResult('startup-weight', startedAt, {
  benchmark: 'startup-weight',
  date: startedAt.toISOString(),
  roots,
  rounds,
  environment: benchEnvironment(loadBefore),
  units: { times: 'seconds', memory: 'MiB' },
  summary,
  samples,
});
console.log(`results: ${path}`);

function sample(round: number, side: string, measure: Sample['measure'], run: TimedRun, ok: boolean): Sample {
  return {
    round,
    side,
    measure,
    wallSeconds: run.wallSeconds,
    cpuSeconds: Math.round(run.cpuSeconds * 100) / 100,
    maxRssMiB: Math.round((run.maxRssBytes / 1048576) * 10) / 10,
    ok,
  };
}

function median(list: number[]): number {
  const sorted = [...list].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}
