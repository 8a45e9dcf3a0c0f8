import { constants } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ResponseFile } from '../src/protocols/http/response-file.ts';
import { benchEnvironment, writeBenchResult } from './result-file.ts';
import { median } from './stats.ts';

/**
 * The disk side of a big GET, without the network: how long until N MiB written through a ResponseFile
 * (64 KiB chunks, as socket reads come) are durable — written, closed, then fsynced as the download's last
 * checkpoint does before the rename — with the partial file's write-behind (`syncEveryBytes`) and without.
 * As in a download, a checkpoint (open, fsync, close; one at a time) runs every `--checkpoint-ms` meanwhile.
 *
 *   node --conditions=source --import tsx bench/partial-sync-behind.ts [--size-mib 1024] [--rounds 3] [--steps 0,32] [--checkpoint-ms 500]
 *
 * Each round runs every step once, in turn (0 = no write-behind). The chunks are allocated once and
 * reused, so the CPU is the file path's. Prints one line per run and writes
 * bench/results/partial-sync-behind-<timestamp>.json.
 */

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '3' },
    steps: { type: 'string', default: '0,32' },
    'checkpoint-ms': { type: 'string', default: '500' },
  },
});
const sizeBytes = Number(values['size-mib']) * 1024 * 1024;
const rounds = Number(values.rounds);
const steps = values.steps.split(',').map(Number);
const checkpointMs = Number(values['checkpoint-ms']);
const CHUNK = 64 * 1024;
const chunks = Array.from({ length: 64 }, (_, i) => Buffer.alloc(CHUNK, i));

interface Run {
  round: number;
  stepMib: number;
  writeSeconds: number;
  finalFsyncSeconds: number;
  durableSeconds: number;
  cpuSeconds: number;
  syncsDone: number;
  load: number;
}

/** fsyncs the file through its own descriptor, as a download's checkpoint does. */
async function checkpoint(path: string): Promise<void> {
  const handle = await open(path, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function once(path: string, stepMib: number): Promise<Omit<Run, 'round' | 'load'>> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  let running: Promise<void> = Promise.resolve();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    running = checkpoint(path)
      .catch(() => undefined)
      .finally(() => {
        busy = false;
      });
  }, checkpointMs);
  let resolveDrain: () => void = () => {};
  const file = new ResponseFile(
    path,
    {
      onWritten: () => {},
      onDrain: () => resolveDrain(),
      onError: (error) => {
        throw error;
      },
    },
    undefined,
    stepMib * 1024 * 1024,
  );
  for (let written = 0, i = 0; written < sizeBytes; written += CHUNK, i++) {
    if (!file.write(chunks[i % chunks.length] as Buffer))
      await new Promise<void>((resolve) => (resolveDrain = resolve));
  }
  await file.end();
  const closed = performance.now();
  clearInterval(timer);
  await running;
  await checkpoint(path);
  const end = performance.now();
  const used = process.cpuUsage(cpu);
  await rm(path);
  return {
    stepMib,
    writeSeconds: (closed - start) / 1000,
    finalFsyncSeconds: (end - closed) / 1000,
    durableSeconds: (end - start) / 1000,
    cpuSeconds: (used.user + used.system) / 1e6,
    syncsDone: file.syncsDone,
  };
}

const loadBefore = loadavg();
const dir = await mkdtemp(join(tmpdir(), 'bgtransfer-bench-sync-behind-'));
const runs: Run[] = [];
try {
  for (let round = 1; round <= rounds; round++) {
    for (const stepMib of steps) {
      const load = loadavg()[0] ?? 0;
      const run = { round, load, ...(await once(join(dir, 'partial'), stepMib)) };
      runs.push(run);
      console.log(
        `round ${round} step ${stepMib} MiB (load ${load.toFixed(1)}): written + closed ${run.writeSeconds.toFixed(2)} s, final fsync ${run.finalFsyncSeconds.toFixed(2)} s, durable ${run.durableSeconds.toFixed(2)} s, CPU ${run.cpuSeconds.toFixed(2)} s, ${run.syncsDone} write-behind fdatasyncs`,
      );
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
const summary = steps.map((stepMib) => {
  const mine = runs.filter((run) => run.stepMib === stepMib);
  return {
    stepMib,
    durableSeconds: median(mine.map((run) => run.durableSeconds)),
    finalFsyncSeconds: median(mine.map((run) => run.finalFsyncSeconds)),
    cpuSeconds: median(mine.map((run) => run.cpuSeconds)),
  };
});
for (const row of summary) {
  console.log(
    `step ${row.stepMib} MiB: median durable ${row.durableSeconds.toFixed(2)} s, final fsync ${row.finalFsyncSeconds.toFixed(2)} s, CPU ${row.cpuSeconds.toFixed(2)} s`,
  );
}
const file = await writeBenchResult('partial-sync-behind', new Date(), {
  environment: benchEnvironment(loadBefore),
  sizeBytes,
  checkpointMs,
  runs,
  summary,
});
console.log(`results: ${file}`);
