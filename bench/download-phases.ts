import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startDownloadServer } from '../test/helpers/download-server.ts';
import { createRandomFile } from './random-file.ts';
import { benchEnvironment, writeBenchResult } from './result-file.ts';
import { timedRun } from './timed-run.ts';
import { startHost, stopHost } from './transfer-host.ts';

/**
 * Where a CLI download's wall time goes, seen from the node:http server of the download tests: from the
 * CLI's spawn to the GET's arrival (start-up, IPC, the host's scheduling), to the last body byte handed
 * to the socket, and from there to the CLI's exit (the last writes, fsync, rename, store, the CLI
 * hearing of it). Several builds (`--cli A,B`), each through its own running host, one download each per
 * round, in turn; the result file is removed after each run.
 *
 *   node --conditions=source --import tsx bench/download-phases.ts --cli BUILD_A/dist/cli/main.js,BUILD_B/dist/cli/main.js [--size-mib 1024] [--rounds 3]
 *
 * The server's counters are polled every 2 ms, so each phase is known to a few ms. Writes
 * bench/results/download-phases-<timestamp>.json.
 */

const { values } = parseArgs({
  options: {
    cli: { type: 'string' },
    'size-mib': { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '3' },
  },
});
if (values.cli === undefined) throw new Error('--cli A[,B...] is required');
const clis = values.cli.split(',');
const sizeMib = Number(values['size-mib']);
const rounds = Number(values.rounds);

interface Run {
  round: number;
  cli: string;
  load: number;
  exitCode: number | null;
  wallSeconds: number;
  /** Spawn → the server saw the request. */
  requestSeconds: number;
  /** Spawn → the server handed the last body byte to its socket. */
  bodySentSeconds: number;
  /** The last body byte → the CLI exited. */
  tailSeconds: number;
}

const loadBefore = loadavg();
const workDir = await mkdtemp(join(tmpdir(), 'bgtransfer-bench-phases-'));
const server = await startDownloadServer();
const hosts: Array<{ cli: string; home: string; host: Awaited<ReturnType<typeof startHost>> }> = [];
const runs: Run[] = [];
try {
  const file = join(workDir, 'random.bin');
  await createRandomFile(file, sizeMib * 1024 * 1024);
  await server.serve('/random.bin', file, {});
  for (const [i, cli] of clis.entries()) {
    const home = join(workDir, `home-${i}`);
    hosts.push({ cli, home, host: await startHost(cli, home) });
  }
  const out = join(workDir, 'downloaded.bin');
  for (let round = 1; round <= rounds; round++) {
    for (const { cli, home } of hosts) {
      const env = { ...process.env, BGTRANSFER_HOST: 'auto', BGTRANSFER_HOME: home };
      const seen = server.requests.length;
      let asked = 0;
      let sent = 0;
      const poll = setInterval(() => {
        const record = server.requests[seen];
        if (asked === 0 && record) asked = performance.now();
        if (sent === 0 && record?.complete) sent = performance.now();
      }, 2);
      const load = loadavg()[0] ?? 0;
      const start = performance.now();
      const run = await timedRun(process.execPath, [cli, 'download', `${server.url}/random.bin`, out], { env });
      const end = performance.now();
      clearInterval(poll);
      const result: Run = {
        round,
        cli,
        load,
        exitCode: run.exitCode,
        wallSeconds: run.wallSeconds,
        requestSeconds: (asked - start) / 1000,
        bodySentSeconds: (sent - start) / 1000,
        tailSeconds: (end - sent) / 1000,
      };
      runs.push(result);
      console.log(
        `round ${round} ${cli} (load ${load.toFixed(1)}): wall ${result.wallSeconds.toFixed(2)} s, request at ${result.requestSeconds.toFixed(3)} s, body sent at ${result.bodySentSeconds.toFixed(2)} s, last byte -> exit ${result.tailSeconds.toFixed(3)} s, exit ${run.exitCode}`,
      );
      await rm(out, { force: true });
    }
  }
} finally {
  for (const { host } of hosts) await stopHost(host);
  await server.close();
  await rm(workDir, { recursive: true, force: true });
}
const written = await writeBenchResult('download-phases', new Date(), {
  environment: benchEnvironment(loadBefore),
  sizeMib,
  runs,
});
console.log(`results: ${written}`);
