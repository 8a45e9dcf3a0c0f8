import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startNginx } from '../test/helpers/nginx.ts';
import { createRandomFile } from './random-file.ts';
import { benchEnvironment, writeBenchResult } from './result-file.ts';
import { positiveInteger } from './small-uploads-processes.ts';
import { procStatTicks } from './timed-run.ts';
import { startHost, stopHost } from './transfer-host.ts';

/**
 * Where a GET's host CPU goes, per thread: the built host's threads (main, V8's helpers, libuv's pool)
 * read from /proc/<pid>/task/<tid>/stat before and after one `bgtransfer download` of a file served by
 * Debian's nginx, then `curl -o` of the same file for the round's comparison.
 *
 *   node --conditions=source --import tsx bench/download-threads.ts [--size-mib 1024] [--rounds 3]
 *        [--target same|new] [--no-curl] [--cli dist/cli/main.js]
 *
 * A thread is named by what it did: the main thread by its id; the others are told apart by their
 * split of user and system time (V8's helpers run JavaScript's garbage collection in user time,
 * libuv's pool writes and fsyncs in system time). Writes bench/results/download-threads-<timestamp>.json.
 * Needs `npm run build`.
 */

const CLK_TCK_MS = 10;
const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '3' },
    /** 'same': every round downloads onto the previous round's file (replacing it); 'new': a new file per round. */
    target: { type: 'string', default: 'same' },
    /** Skip curl's download after each of bgtransfer's (then nothing else writes between rounds). */
    'no-curl': { type: 'boolean', default: false },
    /** Another build's CLI (its host starts from the same build), for before/after runs. */
    cli: { type: 'string', default: fileURLToPath(new URL('../dist/cli/main.js', import.meta.url)) },
  },
});
const CLI = values.cli;
if (values.target !== 'same' && values.target !== 'new')
  throw new Error(`--target must be same or new, got ${values.target}`);
const sizeBytes = positiveInteger(values['size-mib'], '--size-mib') * 1024 * 1024;
const rounds = positiveInteger(values.rounds, '--rounds');

interface ThreadTimes {
  userMs: number;
  systemMs: number;
}

function threadTimes(pid: number): Map<string, ThreadTimes> {
  const times = new Map<string, ThreadTimes>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const { user, system } = procStatTicks(`/proc/${pid}/task/${tid}/stat`);
    times.set(tid, { userMs: user * CLK_TCK_MS, systemMs: system * CLK_TCK_MS });
  }
  return times;
}

function timed(command: string, args: string[], env: NodeJS.ProcessEnv): { ok: boolean; seconds: number } {
  const started = performance.now();
  const run = spawnSync(command, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
  return { ok: run.status === 0, seconds: (performance.now() - started) / 1000 };
}

const startedAt = new Date();
const loadBefore = loadavg();
const workDir = await mkdtemp(join(tmpdir(), 'bgtransfer-bench-get-threads-'));
const nginx = await startNginx();
const results = [];
try {
  await createRandomFile(join(nginx.root, 'random.bin'), sizeBytes);
  const url = `${nginx.davUrl}random.bin`;
  const home = join(workDir, 'home');
  const host = await startHost(CLI, home);
  const pid = host.pid ?? -1;
  const env = { ...process.env, BGTRANSFER_HOST: 'auto', BGTRANSFER_HOME: home };
  try {
    for (let round = 1; round <= rounds; round++) {
      // Outside the clock: what an earlier run left dirty in the page cache is written out now, not
      // by this download's fsyncs (ext4's ordered journal flushes every file's dirty data with them).
      spawnSync('sync');
      const before = threadTimes(pid);
      const target = join(workDir, values.target === 'same' ? 'bgtransfer.bin' : `bgtransfer-${round}.bin`);
      const download = timed(process.execPath, [CLI, 'download', url, target], env);
      const after = threadTimes(pid);
      spawnSync('sync');
      const curl = values['no-curl']
        ? { ok: true, seconds: Number.NaN }
        : timed('curl', ['-s', '-o', join(workDir, 'curl.bin'), url], process.env);
      const threads = [...after].flatMap(([tid, end]) => {
        const start = before.get(tid) ?? { userMs: 0, systemMs: 0 };
        const userMs = end.userMs - start.userMs;
        const systemMs = end.systemMs - start.systemMs;
        return userMs + systemMs === 0 ? [] : [{ thread: tid === String(pid) ? 'main' : tid, userMs, systemMs }];
      });
      const sum = (key: keyof ThreadTimes) => threads.reduce((total, thread) => total + thread[key], 0);
      results.push({ round, download, curl, hostUserMs: sum('userMs'), hostSystemMs: sum('systemMs'), threads });
      const list = threads.map((thread) => `${thread.thread} u${thread.userMs} s${thread.systemMs}`).join(' | ');
      console.log(
        `round ${round}: download ${download.ok ? 'ok' : 'FAILED'} ${download.seconds.toFixed(2)} s, curl ${curl.seconds.toFixed(2)} s;` +
          ` host user ${sum('userMs')} ms, system ${sum('systemMs')} ms; ${list}`,
      );
    }
  } finally {
    await stopHost(host);
  }
} finally {
  await nginx.stop();
  await rm(workDir, { recursive: true, force: true });
}
const path = await writeBenchResult('download-threads', startedAt, {
  benchmark: 'download-threads',
  date: startedAt.toISOString(),
  conditions: {
    sizeBytes,
    rounds,
    target: values.target,
    curl: !values['no-curl'],
    server: 'Debian nginx on loopback',
    cli: `${CLI}, through a running host`,
  },
  environment: benchEnvironment(loadBefore),
  units: { times: 'milliseconds of CPU per thread (clock ticks of 10 ms), seconds of wall' },
  results,
});
console.log(`results: ${path}`);
