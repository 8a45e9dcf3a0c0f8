import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createRandomFile } from './random-file.ts';
import { benchEnvironment, writeBenchResult } from './result-file.ts';
import { median } from './stats.ts';
import { type ClientRun, runApp, writeBgtransferApp, writeTusJsClientApp } from './tus-bench-clients.ts';
import { startLeanTusServer } from './tus-lean-server.ts';

/**
 * Paired before/after measure of one tus upload: tus-js-client against two or more built trees of
 * this repository (each with its own dist/; BEFORE: e.g. a `git worktree` of the base commit, built),
 * in the same rounds, so every side sees the same machine.
 *
 *   node --conditions=source --import tsx bench/tus-paired.ts --trees BEFORE,. \
 *        [--size-mib 1024] [--rounds 4] [--label name]
 *
 * Each side is the app of bench/tus-bench-clients.ts in a fresh Node process (bgtransfer in-process,
 * resumeProtocol 'tus', importing the tree's dist/index.js), uploading the same random file to the lean
 * server of bench/tus-lean-server.ts (in this process); the order rotates per round. A run counts only
 * if the server got every byte once with the right sha-256. Per side: transfer time (timed in the
 * child from before createUpload / new Upload), CPU of the whole process and of its main thread,
 * peak RSS; each tree's transfer time and CPU also as a ratio to tus-js-client's in the same round.
 * Prints medians and writes bench/results/tus-paired-<label>-<timestamp>.json.
 */

const { values } = parseArgs({
  options: {
    trees: { type: 'string' },
    'size-mib': { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '4' },
    label: { type: 'string', default: 'run' },
  },
});
const trees = (values.trees ?? '')
  .split(',')
  .filter((tree) => tree !== '')
  .map((tree) => resolve(tree));
if (trees.length === 0) throw new Error('--trees DIR[,DIR…] is required (each with a built dist/)');
const sizeBytes = Number(values['size-mib']) * 1024 * 1024;
const rounds = Number(values.rounds);
const PEER = 'tus-js-client';
const RETRY_DELAY_MS = 100;

interface Sample {
  side: string;
  round: number;
  valid: boolean;
  transferSeconds: number;
  cpuSeconds: number;
  mainThreadCpuSeconds: number;
  peakRssBytes: number;
  error: string | null;
}

const loadBefore = loadavg();
const workDir = await mkdtemp(join(tmpdir(), 'bgtransfer-tus-paired-'));
const lean = await startLeanTusServer();
const samples: Sample[] = [];
const loads: number[] = [];
try {
  const sides = new Map<string, string>();
  const peerScript = join(workDir, 'tus-js-client-app.mjs');
  await writeTusJsClientApp(peerScript);
  sides.set(PEER, peerScript);
  for (const [index, tree] of trees.entries()) {
    const script = join(workDir, `bgtransfer-app-${index}.mjs`);
    await writeBgtransferApp(script, join(tree, 'dist', 'index.js'));
    sides.set(sideName(tree, index), script);
  }
  const file = join(workDir, 'random.bin');
  const sha256 = await createRandomFile(file, sizeBytes);
  const names = [...sides.keys()];
  for (let round = 1; round <= rounds; round++) {
    loads.push(loadavg()[0] ?? Number.NaN);
    // Rotated, so that no side always runs first (or always right after the same one).
    const order = names.map((_, index) => names[(index + round - 1) % names.length] ?? PEER);
    for (const side of order) {
      const script = sides.get(side) ?? peerScript;
      const run = await runApp(
        { nodeArgs: [], workDir },
        script,
        side === PEER ? PEER : 'bgtransfer',
        file,
        lean.endpoint,
        RETRY_DELAY_MS,
      );
      const valid = run.ok && checkLean(run, sha256);
      samples.push(sampleOf(side, round, run, valid));
      process.stderr.write(
        `round ${round} ${side}: ${valid ? 'ok' : `FAILED ${run.error ?? ''}`} ${run.transferSeconds.toFixed(2)} s, ` +
          `CPU ${run.cpuSeconds.toFixed(2)} s (main ${run.mainThreadCpuSeconds.toFixed(2)}), ` +
          `peak ${(run.peakRssBytes / 1048576).toFixed(1)} MiB\n`,
      );
    }
  }
  const summary = names.map((side) => summarise(side));
  console.log(renderTable(summary));
  const path = await writeBenchResult(`tus-paired-${values.label}`, new Date(), {
    benchmark: 'tus-paired',
    // Trees by name and commit: their paths are this machine's.
    command: `--size-mib ${values['size-mib']} --rounds ${rounds} --label ${values.label}`,
    sizeBytes,
    rounds,
    trees: trees.map((tree, index) => ({ side: sideName(tree, index), commit: treeCommit(tree) })),
    server: 'bench/tus-lean-server.ts in the bench process',
    environment: benchEnvironment(loadBefore),
    loadAverageAtEachRound: loads,
    units: { times: 'seconds', rss: 'bytes' },
    summary,
    samples,
  });
  console.log(`\nresults: ${path}`);
} finally {
  await lean.close();
  await rm(workDir, { recursive: true, force: true });
}
if (samples.some((sample) => !sample.valid)) process.exitCode = 1;

/** The tree's commit, with `+changes` when its work tree differs from it. */
function treeCommit(tree: string): string {
  try {
    const commit = execFileSync('git', ['-C', tree, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const changed = execFileSync('git', ['-C', tree, 'status', '--porcelain', '--untracked-files=no'], {
      encoding: 'utf8',
    }).trim();
    return changed === '' ? commit : `${commit}+changes`;
  } catch {
    return 'unknown';
  }
}

function sideName(tree: string, index: number): string {
  return `${index}:${basename(tree)}`;
}

function sampleOf(side: string, round: number, run: ClientRun, valid: boolean): Sample {
  return {
    side,
    round,
    valid,
    transferSeconds: run.transferSeconds,
    cpuSeconds: run.cpuSeconds,
    mainThreadCpuSeconds: run.mainThreadCpuSeconds,
    peakRssBytes: run.peakRssBytes,
    error: run.error,
  };
}

/** The lean server's running hash: right sha256, every byte received once? Then it forgets the upload. */
function checkLean(run: ClientRun, sha256: string): boolean {
  if (run.uploadUrl === null) return false;
  const upload = lean.upload(run.uploadUrl);
  lean.forget(run.uploadUrl);
  return upload?.sha256 === sha256 && upload.receivedBytes === sizeBytes;
}

interface SideSummary {
  side: string;
  runs: number;
  transferSeconds: number;
  cpuSeconds: number;
  mainThreadCpuSeconds: number;
  peakRssBytes: number;
  /** Median over rounds of this side's value / the peer's in the same round. */
  transferRatio: number;
  cpuRatio: number;
  peakRssRatio: number;
}

function summarise(side: string): SideSummary {
  const mine = samples.filter((sample) => sample.side === side && sample.valid);
  const ratio = (pick: (sample: Sample) => number): number =>
    median(
      mine.flatMap((sample) => {
        const peer = samples.find((other) => other.side === PEER && other.round === sample.round && other.valid);
        return peer === undefined ? [] : [pick(sample) / pick(peer)];
      }),
    );
  return {
    side,
    runs: mine.length,
    transferSeconds: median(mine.map((sample) => sample.transferSeconds)),
    cpuSeconds: median(mine.map((sample) => sample.cpuSeconds)),
    mainThreadCpuSeconds: median(mine.map((sample) => sample.mainThreadCpuSeconds)),
    peakRssBytes: median(mine.map((sample) => sample.peakRssBytes)),
    transferRatio: ratio((sample) => sample.transferSeconds),
    cpuRatio: ratio((sample) => sample.cpuSeconds),
    peakRssRatio: ratio((sample) => sample.peakRssBytes),
  };
}

function renderTable(summary: SideSummary[]): string {
  const lines = [
    `tus upload of ${sizeBytes / 1048576} MiB to the lean server, ${rounds} rounds, load ${loads.map((load) => load.toFixed(1)).join(', ')}`,
    '',
    '| side | runs | transfer s | CPU s | main thread CPU s | peak RSS MiB | transfer / peer | CPU / peer | RSS / peer |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const entry of summary) {
    lines.push(
      `| ${entry.side} | ${entry.runs} | ${entry.transferSeconds.toFixed(2)} | ${entry.cpuSeconds.toFixed(2)} | ` +
        `${entry.mainThreadCpuSeconds.toFixed(2)} | ${(entry.peakRssBytes / 1048576).toFixed(1)} | ` +
        `${entry.transferRatio.toFixed(2)} | ${entry.cpuRatio.toFixed(2)} | ${entry.peakRssRatio.toFixed(2)} |`,
    );
  }
  return lines.join('\n');
}
