import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startDownloadServer } from '../test/helpers/download-server.ts';
import { startNginx } from '../test/helpers/nginx.ts';
import { createRandomFile } from './random-file.ts';
import { timedRun } from './timed-run.ts';

/**
 * Where the transfer host's CPU goes during one GET: the built host runs under `node --cpu-prof`, the
 * built CLI downloads one file through it, and the profile's self time is summed per function.
 *
 *   node --conditions=source --import tsx bench/download-profile.ts [--size-mib 1024] [--server nginx|node] [--top 30]
 *
 * Prints the top functions (ms of self time, and ms per GiB) for the host and for the CLI (which is
 * profiled too: its start-up and progress rendering). Needs `npm run build`.
 */

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');
const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    server: { type: 'string', default: 'nginx' },
    top: { type: 'string', default: '30' },
  },
});
const sizeMib = Number(values['size-mib']);
const top = Number(values.top);
const sizeBytes = sizeMib * 1024 * 1024;

const workDir = await mkdtemp(join(tmpdir(), 'bgtransfer-bench-getprof-'));
const hostProfiles = join(workDir, 'host-prof');
const cliProfiles = join(workDir, 'cli-prof');
let stopServer: () => Promise<void> = async () => {};
try {
  let url: string;
  if (values.server === 'node') {
    const server = await startDownloadServer();
    stopServer = () => server.close();
    const file = join(workDir, 'random.bin');
    await createRandomFile(file, sizeBytes);
    await server.serve('/random.bin', file);
    url = `${server.url}/random.bin`;
  } else {
    const nginx = await startNginx();
    stopServer = () => nginx.stop();
    await createRandomFile(join(nginx.root, 'random.bin'), sizeBytes);
    url = `${nginx.davUrl}random.bin`;
  }
  const env = { ...process.env, BGTRANSFER_HOST: 'auto', BGTRANSFER_HOME: join(workDir, 'home') };
  const host = spawn(process.execPath, ['--cpu-prof', '--cpu-prof-dir', hostProfiles, CLI, 'host'], {
    env,
    stdio: 'ignore',
  });
  for (let attempt = 0; ; attempt++) {
    if ((await timedRun(process.execPath, [CLI, 'host', 'status'], { env })).exitCode === 0) break;
    if (attempt > 200 || host.exitCode !== null) throw new Error('the transfer host did not start');
    await sleep(100);
  }
  const out = join(workDir, 'downloaded.bin');
  const run = await timedRun(
    process.execPath,
    ['--cpu-prof', '--cpu-prof-dir', cliProfiles, CLI, 'download', url, out],
    { env },
  );
  console.log(
    `download: exit ${run.exitCode}, ${run.wallSeconds.toFixed(2)} s wall, CLI ${run.cpuSeconds.toFixed(2)} s CPU`,
  );
  host.kill('SIGTERM');
  await new Promise((resolve) => host.once('exit', resolve));
  for (const [name, dir] of [
    ['host', hostProfiles],
    ['CLI', cliProfiles],
  ] as const) {
    for (const file of await readdir(dir)) {
      summarize(name, JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile);
    }
  }
} finally {
  await stopServer();
  await rm(workDir, { recursive: true, force: true });
}

interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }>;
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function summarize(name: string, profile: CpuProfile): void {
  const byNode = new Map<number, number>();
  profile.samples.forEach((id, index) => {
    byNode.set(id, (byNode.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  const byFunction = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const keyOf = (node: CpuProfile['nodes'][number]): string => {
    const { functionName, url: where, lineNumber } = node.callFrame;
    const file = where.replace(/^.*\/(node_modules|dist|src)\//, '$1/').replace(/^node:/, '');
    return `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
  };
  // Inclusive time: a node's own samples plus its subtree's, counted once per function on a path.
  const walk = (id: number, onPath: Set<string>): number => {
    const node = nodes.get(id);
    if (node === undefined) return 0;
    const key = keyOf(node);
    const fresh = !onPath.has(key);
    if (fresh) onPath.add(key);
    let micros = byNode.get(id) ?? 0;
    for (const child of node.children ?? []) micros += walk(child, onPath);
    if (fresh) {
      onPath.delete(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + micros);
    }
    return micros;
  };
  const root = profile.nodes[0];
  if (root !== undefined) walk(root.id, new Set());
  let total = 0;
  for (const node of profile.nodes) {
    const micros = byNode.get(node.id) ?? 0;
    const { functionName } = node.callFrame;
    const key = keyOf(node);
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
    if (functionName !== '(idle)' && functionName !== '(program)') total += micros;
  }
  const perGib = 1024 / sizeMib;
  console.log(`\n${name}: ${(total / 1000).toFixed(0)} ms sampled busy (excluding idle/program); top self time`);
  console.log('| ms | ms per GiB | function |\n|---|---|---|');
  for (const [key, micros] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`| ${(micros / 1000).toFixed(0)} | ${((micros / 1000) * perGib).toFixed(0)} | ${key} |`);
  }
  console.log(`\n${name}: top inclusive time (the function and what it called)`);
  console.log('| ms | ms per GiB | function |\n|---|---|---|');
  for (const [key, micros] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`| ${(micros / 1000).toFixed(0)} | ${((micros / 1000) * perGib).toFixed(0)} | ${key} |`);
  }
}
