import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { spawnNode } from '../test/helpers/process-tools.ts';
import { spawnBuiltHost, uploadThroughHost } from './built-host.ts';
import { benchEnvironment, writeBenchResult } from './result-file.ts';
import { createFiles } from './small-uploads-files.ts';
import { procStatTicks } from './timed-run.ts';

/**
 * The weight of a BUILT transfer host: resident memory idle and at its peaks, and its CPU, per variant
 * (a build directory plus the Node flags the host runs with), variants alternating in every round.
 *
 *   node --conditions=source --import tsx bench/host-weight.ts --variant NAME=DIST[:FLAGS] … \
 *        [--rounds 2] [--small-count 1000] [--big-mib 4096] [--settle-s 3]
 *
 * DIST is a build's dist directory; FLAGS a space-separated list of Node/V8 flags (`:` alone = none),
 * where a NAME=VALUE word sets an environment variable of the host instead (e.g. MALLOC_ARENA_MAX=2).
 * Each round, for each variant: a fresh home, `node FLAGS DIST/ipc/host-entry.js` (what the launcher
 * spawns), then
 *  1. idle after start: VmRSS, RssAnon, RssFile `settle-s` after it listens;
 *  2. 100 uploads of 4 KiB (PUT, resumeProtocol none) from a client process, then idle again;
 *  3. the peak (VmHWM, reset first through /proc/<pid>/clear_refs) and host CPU during `small-count`
 *     uploads of 4 KiB, then idle again;
 *  4. the peak and host CPU during one PUT of `big-mib` MiB (a sparse file: page cache is not the
 *     host's RSS, and the bytes' values do not change what the host keeps), then idle again.
 * The server is bench/small-uploads-sink.ts (its own process; bodies counted, not kept). Writes
 * bench/results/host-weight-<timestamp>.json.
 */

const SINK_SCRIPT = fileURLToPath(new URL('./small-uploads-sink.ts', import.meta.url));
const SMALL_BYTES = 4096;
const CLK_TCK = 100;
const APP_ID = 'bgtransfer-bench-weight';

const { values } = parseArgs({
  options: {
    variant: { type: 'string', multiple: true },
    rounds: { type: 'string', default: '2' },
    'small-count': { type: 'string', default: '1000' },
    'big-mib': { type: 'string', default: '4096' },
    'settle-s': { type: 'string', default: '3' },
  },
});

interface Variant {
  name: string;
  entry: string;
  flags: string[];
  env: Record<string, string>;
}

const variants: Variant[] = (values.variant ?? []).map((text) => {
  const match = /^([^=]+)=([^:]+)(?::(.*))?$/.exec(text);
  if (!match?.[1] || !match[2]) throw new Error(`--variant NAME=DIST[:FLAGS], got ${text}`);
  const entry = join(resolve(match[2]), 'ipc', 'host-entry.js');
  if (!existsSync(entry)) throw new Error(`no built host at ${entry} (npm run build)`);
  const words = (match[3] ?? '').split(' ').filter((word) => word !== '');
  const env = Object.fromEntries(
    words
      .filter((word) => /^[A-Z_]+=/.test(word))
      .map((word) => [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)]),
  );
  return { name: match[1], entry, flags: words.filter((word) => !/^[A-Z_]+=/.test(word)), env };
});
if (variants.length === 0) throw new Error('give at least one --variant NAME=DIST[:FLAGS]');
const rounds = Number(values.rounds);
const smallCount = Number(values['small-count']);
const bigBytes = Number(values['big-mib']) * 1024 * 1024;
const settleMs = Number(values['settle-s']) * 1000;

interface Memory {
  vmRssMiB: number;
  rssAnonMiB: number;
  rssFileMiB: number;
  vmHwmMiB: number;
  cpuSeconds: number;
}

interface Phase {
  peakMiB: number;
  cpuSeconds: number;
  wallSeconds: number;
  completed: number;
}

interface Run {
  round: number;
  variant: string;
  flags: string[];
  env: Record<string, string>;
  idleStart: Memory;
  after100: Memory;
  small: Phase;
  afterSmall: Memory;
  big: Phase;
  afterBig: Memory;
}

const startedAt = new Date();
const loadBefore = loadavg();
const work = await mkdtemp(join(tmpdir(), 'bgt-weight-'));
const runs: Run[] = [];
const sink = spawnNode(SINK_SCRIPT);
try {
  const { url } = JSON.parse(await sink.waitForLine(/^\{"type":"listening"/, 30_000)) as { url: string };
  const smallDir = join(work, 'small');
  await createFiles(smallDir, smallCount, SMALL_BYTES);
  const bigDir = join(work, 'big');
  await mkdir(bigDir);
  const big = await open(join(bigDir, 'f0.bin'), 'w');
  await big.truncate(bigBytes);
  await big.close();
  for (let round = 1; round <= rounds; round++) {
    for (const variant of variants) runs.push(await measure(round, variant, url, smallDir, bigDir));
  }
} finally {
  sink.kill('SIGTERM');
  await sink.exited;
  await rm(work, { recursive: true, force: true });
}

const path = await writeBenchResult('host-weight', startedAt, {
  benchmark: 'host-weight',
  date: startedAt.toISOString(),
  conditions: { smallCount, smallBytes: SMALL_BYTES, bigBytes, settleMs, variants },
  environment: benchEnvironment(loadBefore),
  units: { memory: 'MiB', cpu: 'CPU seconds (user + system) of the host process' },
  runs,
});
console.log(`results: ${path}`);

async function measure(round: number, variant: Variant, url: string, smallDir: string, bigDir: string): Promise<Run> {
  const host = await spawnBuiltHost({
    entry: variant.entry,
    flags: variant.flags,
    parent: work,
    appId: APP_ID,
    hostEnv: variant.env,
  });
  const { env, pid } = host;
  try {
    await sleep(settleMs);
    const idleStart = readMemory(pid);
    await uploadThroughHost(env, url, smallDir, 100, SMALL_BYTES);
    await sleep(settleMs);
    const after100 = readMemory(pid);
    const small = await phase(pid, () => uploadThroughHost(env, url, smallDir, smallCount, SMALL_BYTES));
    await sleep(settleMs);
    const afterSmall = readMemory(pid);
    const big = await phase(pid, () => uploadThroughHost(env, url, bigDir, 1, bigBytes));
    await sleep(settleMs);
    const afterBig = readMemory(pid);
    const run = {
      round,
      variant: variant.name,
      flags: variant.flags,
      env: variant.env,
      idleStart,
      after100,
      small,
      afterSmall,
      big,
      afterBig,
    };
    console.log(
      `${round} ${variant.name}: idle ${idleStart.vmRssMiB} → after 100 ${after100.vmRssMiB} (file ${after100.rssFileMiB}) MiB;` +
        ` ${smallCount} small: peak ${small.peakMiB} MiB, ${small.cpuSeconds} CPU s, idle after ${afterSmall.vmRssMiB};` +
        ` big: peak ${big.peakMiB} MiB, ${big.cpuSeconds} CPU s, ${big.wallSeconds} s, idle after ${afterBig.vmRssMiB}`,
    );
    return run;
  } finally {
    await host.stop();
  }
}

async function phase(pid: number, work: () => Promise<number>): Promise<Phase> {
  // Writing 5 resets the kernel's high-water mark to the current RSS (proc(5), clear_refs).
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
  const before = readMemory(pid);
  const started = performance.now();
  const completed = await work();
  const wallSeconds = round2((performance.now() - started) / 1000);
  const after = readMemory(pid);
  return { peakMiB: after.vmHwmMiB, cpuSeconds: round2(after.cpuSeconds - before.cpuSeconds), wallSeconds, completed };
}

function readMemory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const { user, system } = procStatTicks(`/proc/${pid}/stat`);
  return {
    vmRssMiB: mib(status, 'VmRSS'),
    rssAnonMiB: mib(status, 'RssAnon'),
    rssFileMiB: mib(status, 'RssFile'),
    vmHwmMiB: mib(status, 'VmHWM'),
    cpuSeconds: (user + system) / CLK_TCK,
  };
}

function mib(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  return match?.[1] === undefined ? Number.NaN : round2(Number(match[1]) / 1024);
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
