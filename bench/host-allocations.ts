import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { spawnNode } from '../test/helpers/process-tools.ts';
import { spawnBuiltHost, uploadThroughHost } from './built-host.ts';
import { benchEnvironment, writeBenchResult } from './result-file.ts';
import { createFiles } from './small-uploads-files.ts';

/**
 * Where a BUILT host's garbage comes from during small uploads: the host runs with its launcher's flags
 * and V8's sampling heap profiler (bench/allocation-sampler.mjs, which counts freed objects too), one
 * client uploads `count` files of 4 KiB through it, and the bytes allocated are summed by the function
 * that allocated them. Garbage collection is a fifth of the host's CPU during small uploads; this says
 * which code feeds it.
 *
 *   node --conditions=source --import tsx bench/host-allocations.ts [--dist dist] [--count 4000] [--top 30]
 *
 * Writes bench/results/host-allocations-<timestamp>.json (the top functions, KiB per upload).
 */

const SAMPLER = fileURLToPath(new URL('./allocation-sampler.mjs', import.meta.url));
const SINK_SCRIPT = fileURLToPath(new URL('./small-uploads-sink.ts', import.meta.url));
const SMALL_BYTES = 4096;

const { values } = parseArgs({
  options: {
    dist: { type: 'string', default: 'dist' },
    count: { type: 'string', default: '4000' },
    top: { type: 'string', default: '30' },
  },
});
const entry = join(resolve(values.dist), 'ipc', 'host-entry.js');
if (!existsSync(entry)) throw new Error(`no built host at ${entry} (npm run build)`);
const count = Number(values.count);
const top = Number(values.top);
const { HOST_NODE_FLAGS } = (await import(join(resolve(values.dist), 'ipc', 'host-flags.js'))) as {
  HOST_NODE_FLAGS: string[];
};

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

const startedAt = new Date();
const loadBefore = loadavg();
const work = await mkdtemp(join(tmpdir(), 'bgt-allocations-'));
const sink = spawnNode(SINK_SCRIPT);
let profile: ProfileNode;
try {
  const { url } = JSON.parse(await sink.waitForLine(/^\{"type":"listening"/, 30_000)) as { url: string };
  const files = join(work, 'files');
  await createFiles(files, count, SMALL_BYTES);
  const profilePath = join(work, 'allocations.heapprofile');
  const host = await spawnBuiltHost({
    entry,
    flags: [...HOST_NODE_FLAGS, '--import', SAMPLER],
    parent: work,
    appId: 'bench-allocations',
    hostEnv: { BGTRANSFER_ALLOCATION_PROFILE: profilePath },
  });
  try {
    await uploadThroughHost(host.env, url, files, count, SMALL_BYTES);
    host.process.kill('SIGUSR2');
    for (let waited = 0; !existsSync(profilePath); waited += 100) {
      if (waited > 30_000) throw new Error('the host wrote no allocation profile');
      await sleep(100);
    }
    await sleep(200);
    profile = (JSON.parse(readFileSync(profilePath, 'utf8')) as { head: ProfileNode }).head;
  } finally {
    await host.stop();
  }
} finally {
  sink.kill('SIGTERM');
  await sink.exited;
  await rm(work, { recursive: true, force: true });
}

// Self bytes by function (name, file, line): the file is shortened to its name, which in the built
// host names the bundle chunk, so the line locates the function in it.
const bySite = new Map<string, number>();
let total = 0;
const pending = [profile];
for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
  const { functionName, url, lineNumber } = node.callFrame;
  const site = `${functionName || '(anonymous)'} ${url.replace(/^.*\//, '') || '(native)'}:${lineNumber + 1}`;
  bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
  total += node.selfSize;
  pending.push(...node.children);
}
const rows = [...bySite]
  .sort((a, b) => b[1] - a[1])
  .slice(0, top)
  .map(([site, bytes]) => ({ site, kibPerUpload: round1(bytes / 1024 / count), share: round1((100 * bytes) / total) }));

console.log(`${count} uploads of ${SMALL_BYTES} bytes: ${round1(total / 1048576)} MiB allocated by the host,`);
console.log(`${round1(total / 1024 / count)} KiB per upload (sampled every 4 KiB, freed objects included)\n`);
console.log('| KiB per upload | share | function (bundle file:line) |\n|---|---|---|');
for (const row of rows) console.log(`| ${row.kibPerUpload} | ${row.share}% | ${row.site} |`);
const path = await writeBenchResult('host-allocations', startedAt, {
  benchmark: 'host-allocations',
  date: startedAt.toISOString(),
  conditions: { count, bytes: SMALL_BYTES, dist: values.dist, samplingIntervalBytes: 4096 },
  environment: benchEnvironment(loadBefore),
  units: { allocated: 'KiB per upload, by the function that allocated' },
  totalMiB: round1(total / 1048576),
  kibPerUpload: round1(total / 1024 / count),
  top: rows,
});
console.log(`\nresults: ${path}`);

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
