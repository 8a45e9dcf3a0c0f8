import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { BackgroundTransferStatus } from '../src/core/enums.ts';
import { stopHost } from '../src/ipc/host-control.ts';
import type * as SocketPortModule from '../src/ipc/socket-port.ts';
import { NODE_TS_FLAGS, type NodeChild, spawnNode } from '../test/helpers/process-tools.ts';
import { benchEnvironment, writeBenchResult } from './result-file.ts';
import { createFiles } from './small-uploads-files.ts';
import {
  nonNegativeInteger,
  note,
  positiveInteger,
  readHost,
  startSink,
  undiciVersion,
} from './small-uploads-processes.ts';
import {
  type BaselineRun,
  type CliTiming,
  type HostReading,
  type HostRun,
  isValidUploadRun,
  type ListRunResult,
  type ListTiming,
  renderMarkdown,
  type StoreTiming,
  summarize,
  type UploadRunResult,
} from './small-uploads-report.ts';

/**
 * Many small uploads through the transfer host, against a plain undici loop.
 *
 *   node --conditions=source --import tsx bench/host-small-uploads.ts [--count 10000] [--concurrency 16]
 *        [--runs 2] [--auto-runs 1] [--list-runs 3] [--window 4000] [--profile-host DIR] [--built | --dist DIR]
 *
 * Setup: `count` distinct files of 4 KiB of random data (one per upload, read by whoever uploads it),
 * one loopback node:http server in its own process (bench/small-uploads-sink.ts: PUT → 201, bodies read
 * and counted). Each run is a pair, in this order, so both sides see the same machine state:
 *  1. undici `request()` PUTs, `concurrency` at a time, in a fresh process (the baseline);
 *  2. bgtransfer through the host: a fresh BGTRANSFER_HOME whose config.json sets
 *     maxConcurrentTransfers = concurrency; the host is started first (outside the clock); a fresh client
 *     process creates `count` uploads (PUT, resumeProtocol 'none': no OPTIONS probe) and times the first
 *     startAsync() to the last completion it is told of. With 10,000 operations stored, the enumeration
 *     is then timed: getCurrentUploadsAsync() in `list-runs` fresh processes, and `bgtransfer list --json`.
 * The first `auto-runs` runs also upload with the default resumeProtocol 'auto' (one OPTIONS probe for
 * the endpoint, then remembered), each in a fresh home and host beside that run's 'none', the two in
 * alternating order; auto/none is reported per run and as the median of those pairs.
 *
 * `--window` (default 4000) bounds the uploads one client has started and not yet seen settle: the host
 * refuses a 4,097th watch on one connection (MAX_WATCHES_PER_CONNECTION) and startAsync() then never
 * settles, so an app cannot keep more than 4,096 startAsync() promises open on one connection today.
 * `--window 0` starts all at once (and shows that). A run counts only if every upload completed with
 * 201 and the server received exactly count × 4096 bytes in count PUTs.
 *
 * `--built` runs the host, the client's library and the CLI from this tree's dist/ (`npm run build` first), as
 * users run them; `--dist DIR` from another build's dist/ (a "before" tree, for paired runs). Without
 * either, everything runs from source under tsx.
 *
 * `--profile-host DIR` starts each host itself with --cpu-prof --cpu-prof-dir=DIR (a .cpuprofile per
 * host process, written when it stops; Node 20 refuses --cpu-prof in NODE_OPTIONS).
 *
 * Prints markdown tables, writes bench/results/host-small-uploads-<timestamp>.json, stops every host.
 */

const APP_ID = 'bgtransfer-bench-small';
const SIZE_BYTES = 4096;
const CLIENT_SCRIPT = fileURLToPath(new URL('./small-uploads-client.ts', import.meta.url));

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '16' },
    runs: { type: 'string', default: '2' },
    'auto-runs': { type: 'string', default: '1' },
    'list-runs': { type: 'string', default: '3' },
    window: { type: 'string', default: '4000' },
    'timeout-s': { type: 'string', default: '240' },
    'profile-host': { type: 'string' },
    built: { type: 'boolean', default: false },
    dist: { type: 'string' },
  },
});
const distDir = values.dist
  ? resolve(values.dist)
  : values.built
    ? fileURLToPath(new URL('../dist', import.meta.url))
    : undefined;
/** How to run the package's scripts: node on dist/ JavaScript, or node with tsx on the source. */
const scriptFlags = distDir ? [] : NODE_TS_FLAGS;
const CLI_SCRIPT = distDir
  ? join(distDir, 'cli/main.js')
  : fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const HOST_ENTRY = distDir
  ? join(distDir, 'ipc/host-entry.js')
  : fileURLToPath(new URL('../src/ipc/host-entry.ts', import.meta.url));
// The port that starts a host starts it from where the port's module is: dist/ or the source.
const { SocketPort } = (await import(
  distDir ? pathToFileURL(join(distDir, 'ipc/socket-port.js')).href : '../src/ipc/socket-port.ts'
)) as typeof SocketPortModule;
const distArgs = distDir ? ['--dist', distDir] : [];
const count = positiveInteger(values.count, '--count');
const concurrency = positiveInteger(values.concurrency, '--concurrency');
const runCount = nonNegativeInteger(values.runs, '--runs');
const autoRuns = nonNegativeInteger(values['auto-runs'], '--auto-runs');
const listRuns = nonNegativeInteger(values['list-runs'], '--list-runs');
const window = nonNegativeInteger(values.window, '--window');
const timeoutSeconds = positiveInteger(values['timeout-s'], '--timeout-s');
const profileDir = values['profile-host'];

const startedAt = new Date();
const loadBefore = loadavg();
const workDir = await mkdtemp(join(tmpdir(), 'bgt-small-'));
const filesDir = join(workDir, 'files');
const homes = new Set<string>();
const baselines: BaselineRun[] = [];
const hostRuns: HostRun[] = [];
/** Profiled hosts are our direct children: wait for them (and their profile) before exiting. */
const profiledHosts: Promise<void>[] = [];
let failures = 0;
const sink = await startSink(SIZE_BYTES);
try {
  let started = performance.now();
  await createFiles(filesDir, count, SIZE_BYTES);
  note(`wrote ${count} files of ${SIZE_BYTES} bytes in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  started = performance.now();

  for (let run = 1; run <= runCount; run++) {
    baselines.push(await baselineRun(run));
    if (run > autoRuns) {
      hostRuns.push(await hostRun(run, 'none', true));
      continue;
    }
    // 'auto' is paired with this run's 'none', the order alternating: runs of the same code move by
    // ±20% from one to the next on this machine, so only runs side by side compare.
    const order: ('none' | 'auto')[] = run % 2 === 1 ? ['none', 'auto'] : ['auto', 'none'];
    for (const mode of order) hostRuns.push(await hostRun(run, mode, mode === 'none'));
  }
  for (let run = runCount + 1; run <= autoRuns; run++) hostRuns.push(await hostRun(run, 'auto', false));
  failures = [...baselines, ...hostRuns].filter((run) => !run.valid).length;

  const summary = summarize(baselines, hostRuns);
  const code = distDir ? `built: ${distDir}` : 'source under tsx';
  const conditions = { count, sizeBytes: SIZE_BYTES, concurrency, window, code };
  console.log(renderMarkdown(conditions, baselines, hostRuns, summary));
  const resultPath = await writeResult({
    benchmark: 'host-small-uploads',
    date: startedAt.toISOString(),
    totalSeconds: (performance.now() - started) / 1000,
    conditions: {
      ...conditions,
      files: 'one distinct file per upload (random data), in a tmpdir; page-cached after creation',
      server: 'node:http on 127.0.0.1 in its own process; PUT → 201, other methods → 200 (no Tus-Version)',
      baseline: `undici ${undiciVersion()} request() with an Agent (keepAliveTimeout 4 s, pipelining 1), ${concurrency} workers, each reading its file into memory`,
      host: `BGTRANSFER_HOST=auto, fresh BGTRANSFER_HOME per run, config.json maxConcurrentTransfers ${concurrency}, host started before the clock`,
      clock: 'client process: first startAsync() (first request for undici) to the last completion seen',
    },
    environment: benchEnvironment(loadBefore),
    units: { rates: 'uploads per second', rss: 'bytes', times: 'milliseconds unless named *Seconds' },
    summary,
    baselines,
    hostRuns,
  });
  console.log(`\nresults: ${resultPath}`);
} finally {
  for (const home of homes) await stopAndRemove(home);
  await Promise.all(profiledHosts);
  await sink.close();
  await rm(workDir, { recursive: true, force: true });
}
if (failures > 0) {
  console.error(`${failures} run(s) did not upload every file intact`);
  process.exitCode = 1;
}

async function baselineRun(run: number): Promise<BaselineRun> {
  await sink.reset();
  const client = await runUploadClient(
    ['undici', '--url', sink.url, '--dir', filesDir, '--count', String(count), '--concurrency', String(concurrency)],
    {},
  );
  const stats = await sink.stats();
  const valid = isValidUploadRun(client, stats, count, SIZE_BYTES);
  note(`run ${run} undici: ${valid ? 'ok' : 'INVALID'} ${client.uploadsPerSecond.toFixed(0)} uploads/s`);
  return { run, side: 'undici', client, sink: stats, valid };
}

async function hostRun(run: number, resumeProtocol: 'none' | 'auto', withList: boolean): Promise<HostRun> {
  const home = await mkdtemp(join(tmpdir(), 'bgt-small-home-'));
  homes.add(home);
  await writeFile(
    join(home, 'config.json'),
    // maxOperationsPerApp (default 10,000 unfinished) only when more uploads than that are queued.
    `${JSON.stringify({ maxConcurrentTransfers: concurrency, ...(count > 10_000 ? { maxOperationsPerApp: count } : {}) })}\n`,
  );
  const env: NodeJS.ProcessEnv = { ...process.env, BGTRANSFER_HOME: home, BGTRANSFER_APP_ID: APP_ID };
  delete env.BGTRANSFER_HOST;

  // Start the host from here, so its start-up is outside the clock and its CPU time can be read before.
  let started = performance.now();
  const hostPid = profileDir ? await startProfiledHost(home, env, profileDir) : await startHost(home, env);
  const hostStartMs = performance.now() - started;
  const hostBefore = readHost(hostPid);

  await sink.reset();
  const client = await runUploadClient(
    [
      'bgtransfer',
      '--url',
      sink.url,
      '--dir',
      filesDir,
      '--count',
      String(count),
      '--resume-protocol',
      resumeProtocol,
      '--window',
      String(window),
      '--timeout-s',
      String(timeoutSeconds),
    ],
    env,
  );
  const stats = await sink.stats();
  const hostAfterUploads = readHost(hostPid);
  const valid = isValidUploadRun(client, stats, count, SIZE_BYTES);
  note(
    `run ${run} bgtransfer (${resumeProtocol}): ${valid ? 'ok' : 'INVALID'} ${client.uploadsPerSecond.toFixed(0)} uploads/s` +
      ` (${client.completed}/${count} completed${client.timedOut ? ', timed out' : ''})`,
  );

  const list: ListTiming[] = [];
  const cliList: CliTiming[] = [];
  let cliVersion: CliTiming | undefined;
  let hostAfterList: HostReading | undefined;
  if (withList) {
    for (let index = 0; index < listRuns; index++) list.push(await listRun(env));
    for (let index = 0; index < listRuns; index++) {
      cliList.push(await runCli(['list', '--json', '--app', APP_ID], env));
    }
    cliVersion = await runCli(['--version'], env);
    hostAfterList = readHost(hostPid);
    const listed = list.map((entry) => entry.result?.operations ?? entry.error).join(', ');
    note(
      `  enumerated ${listed} operations; bgtransfer list printed ${cliList.map((cli) => cli.lines).join(', ')} lines`,
    );
  }

  started = performance.now();
  let store: StoreTiming | undefined;
  await stopAndRemove(home, (path) => {
    store = readStoreTiming(path);
  });
  note(`  host stopped in ${(performance.now() - started).toFixed(0)} ms`);
  return {
    run,
    side: 'bgtransfer',
    resumeProtocol,
    client,
    sink: stats,
    valid,
    hostPid,
    hostStartMs,
    hostBefore,
    hostAfterUploads,
    hostAfterList,
    store,
    list,
    cliList,
    cliVersion,
  };
}

/** As an app would: the first call starts the host (ipc/host-launcher.ts), detached. */
async function startHost(home: string, env: NodeJS.ProcessEnv): Promise<number> {
  const port = new SocketPort(home, { env });
  try {
    return (await port.status(APP_ID)).pid;
  } finally {
    await port.close();
  }
}

/**
 * The host process the launcher would start (src/ipc/host-entry.ts), but with --cpu-prof: Node 20
 * refuses --cpu-prof in NODE_OPTIONS, so it cannot reach the launcher's spawn through the environment.
 * The profile is written when the host exits (stopHost).
 */
async function startProfiledHost(home: string, env: NodeJS.ProcessEnv, dir: string): Promise<number> {
  await mkdir(dir, { recursive: true });
  const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, ...scriptFlags, HOST_ENTRY], {
    cwd: home,
    env,
    stdio: 'ignore',
  });
  profiledHosts.push(new Promise((resolve) => child.once('close', () => resolve())));
  const deadline = performance.now() + 15_000;
  for (;;) {
    const port = new SocketPort(home, { env, autoStart: false });
    try {
      return (await port.status(APP_ID)).pid;
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      await port.close();
    }
  }
}

/** The host stops (its store is closed and checkpointed); `inspect` reads the database before the home goes. */
async function stopAndRemove(home: string, inspect?: (database: string) => void): Promise<void> {
  if (!homes.delete(home)) return;
  try {
    await stopHost(home, { env: { ...process.env, BGTRANSFER_HOME: home }, appId: APP_ID });
    inspect?.(join(home, 'bgtransfer.db'));
  } catch (error) {
    note(`  could not stop the host of ${home}: ${String(error)}`);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

function readStoreTiming(database: string): StoreTiming | undefined {
  const db = new Database(database, { readonly: true, fileMustExist: true });
  try {
    const row = db
      .prepare<[number], { completed: number; firstCreatedAtMs: number | null; lastCompletedAtMs: number | null }>(
        `SELECT COUNT(*) AS completed, MIN(createdAtMs) AS firstCreatedAtMs, MAX(updatedAtMs) AS lastCompletedAtMs
           FROM operations WHERE status = ?`,
      )
      .get(BackgroundTransferStatus.completed);
    if (!row || row.firstCreatedAtMs === null || row.lastCompletedAtMs === null) return undefined;
    const seconds = (row.lastCompletedAtMs - row.firstCreatedAtMs) / 1000;
    return {
      completed: row.completed,
      firstCreatedAtMs: row.firstCreatedAtMs,
      lastCompletedAtMs: row.lastCompletedAtMs,
      seconds,
      uploadsPerSecond: row.completed / seconds,
    };
  } finally {
    db.close();
  }
}

async function runUploadClient(args: string[], env: NodeJS.ProcessEnv): Promise<UploadRunResult> {
  const child = spawnNode([CLIENT_SCRIPT, ...args, ...distArgs], { env });
  const parsed = await resultOf<UploadRunResult>(child, (timeoutSeconds + 60) * 1000);
  if (parsed.type !== 'result') throw new Error(`the ${args[0]} client failed: ${parsed.code}: ${parsed.message}`);
  return parsed;
}

async function listRun(env: NodeJS.ProcessEnv): Promise<ListTiming> {
  const started = performance.now();
  const child = spawnNode([CLIENT_SCRIPT, 'list', ...distArgs], { env });
  const parsed = await resultOf<ListRunResult>(child, 120_000);
  const processWallMs = performance.now() - started;
  if (parsed.type !== 'result') return { processWallMs, result: undefined, error: `${parsed.code}: ${parsed.message}` };
  return { processWallMs, result: parsed };
}

type ChildOutput<T> = T | { type: 'error'; code: string; message: string };

async function resultOf<T>(child: NodeChild, timeoutMs: number): Promise<ChildOutput<T>> {
  let line: string;
  try {
    line = await child.waitForLine(/^\{"type":"(result|error)"/, timeoutMs);
  } catch (error) {
    child.kill('SIGKILL');
    await child.exited;
    throw error;
  }
  const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await child.exited;
  clearTimeout(killer);
  return JSON.parse(line) as ChildOutput<T>;
}

/** `bgtransfer …` (dist/ or source), spawn to exit; stdout lines counted, not kept. */
function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliTiming> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [...scriptFlags, CLI_SCRIPT, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let lines = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines += 1;
    });
    child.once('error', reject);
    child.once('close', (exitCode) => resolve({ wallMs: performance.now() - started, lines, exitCode }));
  });
}

function writeResult(result: object): Promise<string> {
  return writeBenchResult('host-small-uploads', startedAt, result);
}
