import { constants } from 'node:fs';
import { mkdtemp, open, rename, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { publishResult } from '../src/engine/download-partial.ts';
import { benchEnvironment, writeBenchResult } from './result-file.ts';
import { median } from './stats.ts';

/**
 * The end of a download whose result file already exists (a file fetched again to the same path): the
 * time from "the partial file is complete and fsynced" to "the result is in place and its directory
 * fsynced", for a plain rename + directory fsync (how publishResult did it before it held the replaced
 * file) and for publishResult. The replaced file is N MiB, written and fsynced before each run.
 *
 *   node --conditions=source --import tsx bench/publish-over-existing.ts [--size-mib 1024] [--rounds 3]
 *
 * Each round runs both, alternating which goes first. Writes bench/results/publish-over-existing-<timestamp>.json.
 */

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '3' },
  },
});
const sizeBytes = Number(values['size-mib']) * 1024 * 1024;
const rounds = Number(values.rounds);
type Way = 'rename' | 'publishResult';

async function writeSynced(path: string, bytes: number): Promise<void> {
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
  const block = Buffer.alloc(8 * 1024 * 1024, 7);
  try {
    for (let written = 0; written < bytes; written += block.byteLength) {
      await handle.write(block, 0, Math.min(block.byteLength, bytes - written));
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function plainPublish(partial: string, result: string): Promise<void> {
  await rename(partial, result);
  const directory = await open(join(result, '..'), constants.O_RDONLY | constants.O_DIRECTORY);
  await directory.sync();
  await directory.close();
}

async function once(dir: string, way: Way): Promise<number> {
  const result = join(dir, 'result.bin');
  const partial = join(dir, '.result.bin.partial');
  await writeSynced(result, sizeBytes);
  await writeFile(partial, 'the new body');
  const start = performance.now();
  await (way === 'rename' ? plainPublish(partial, result) : publishResult(partial, result));
  const seconds = (performance.now() - start) / 1000;
  // Let the replaced file's blocks be freed before the next file is written.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await rm(result);
  return seconds;
}

const loadBefore = loadavg();
const dir = await mkdtemp(join(tmpdir(), 'bgtransfer-bench-publish-'));
const runs: Array<{ round: number; way: Way; seconds: number; load: number }> = [];
try {
  for (let round = 1; round <= rounds; round++) {
    const ways: Way[] = round % 2 === 1 ? ['rename', 'publishResult'] : ['publishResult', 'rename'];
    for (const way of ways) {
      const load = loadavg()[0] ?? 0;
      const seconds = await once(dir, way);
      runs.push({ round, way, seconds, load });
      console.log(`round ${round} ${way} (load ${load.toFixed(1)}): ${(seconds * 1000).toFixed(1)} ms`);
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
const summary = (['rename', 'publishResult'] as const).map((way) => ({
  way,
  medianSeconds: median(runs.filter((run) => run.way === way).map((run) => run.seconds)),
}));
for (const row of summary) console.log(`${row.way}: median ${(row.medianSeconds * 1000).toFixed(1)} ms`);
const file = await writeBenchResult('publish-over-existing', new Date(), {
  environment: benchEnvironment(loadBefore),
  sizeBytes,
  runs,
  summary,
});
console.log(`results: ${file}`);
