import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fileCrc32, startPutSink } from './put-sink-server.ts';
import { createRandomFile } from './random-file.ts';
import { benchEnvironment, writeBenchResult } from './result-file.ts';
import { timedRun } from './timed-run.ts';

/**
 * Where an in-process PUT's main thread goes: bench/put-once-built.mjs (the built package,
 * BGTRANSFER_HOST=inproc) runs under `node --cpu-prof` against the bench's sink, and the profile is
 * split at the first sample inside undici's body writer: the start (process, modules, store, first
 * request) and the body, whose samples are put in a few classes by the function on top of the stack.
 *
 *   node --conditions=source --import tsx bench/put-profile.ts [--size-mib 1024] [--runs 1] [--tree .]
 *
 * A sampled "native" class is the main thread's wall time inside that call, including time the
 * thread was not running: on a loaded machine the classes measure where the thread waits as well as
 * where it computes. Writes bench/results/put-profile-<timestamp>.json.
 */

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    runs: { type: 'string', default: '1' },
    tree: { type: 'string', default: fileURLToPath(new URL('../', import.meta.url)) },
  },
});
const sizeBytes = Number(values['size-mib']) * 1024 * 1024;
const runs = Number(values.runs);
const tree = values.tree;

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
}

/** The class of a sample by the function on top of its stack. */
function classOf(frame: { functionName: string; url: string }): string {
  const { functionName: name, url } = frame;
  if (name === 'update' && url.includes('hash')) return 'sha-256 (Hash.update)';
  if (url === '' && (name === 'writeBuffer' || name === 'writev')) return 'socket write (native)';
  if (url === '' && name === 'read') return 'file read issued (native FileHandle.read)';
  if (url === '') return name; // (idle), (program), (garbage collector), other natives
  if (url.includes('node_modules/undici')) return 'undici JavaScript';
  if (url.includes('/dist/')) return 'bgtransfer JavaScript';
  return 'Node.js JavaScript';
}

function split(profile: CpuProfile): { startMs: number; bodyMs: number; body: Record<string, number> } {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const inBodyWriter = (id: number): boolean => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      if (nodes.get(at)?.callFrame.functionName === 'writeIterable') return true;
    }
    return false;
  };
  let started = false;
  let startMicros = 0;
  let bodyMicros = 0;
  const body = new Map<string, number>();
  profile.samples.forEach((id, index) => {
    const micros = profile.timeDeltas[index] ?? 0;
    started ||= inBodyWriter(id);
    if (!started) {
      startMicros += micros;
      return;
    }
    const frame = nodes.get(id)?.callFrame;
    const key = frame ? classOf(frame) : 'unknown';
    body.set(key, (body.get(key) ?? 0) + micros);
    bodyMicros += micros;
  });
  const sorted = [...body].sort((a, b) => b[1] - a[1]).map(([key, micros]) => [key, micros / 1000] as const);
  return { startMs: startMicros / 1000, bodyMs: bodyMicros / 1000, body: Object.fromEntries(sorted) };
}

const loadBefore = loadavg();
const workDir = await mkdtemp(join(tmpdir(), 'bgtransfer-put-profile-'));
const sink = await startPutSink();
const results: Array<ReturnType<typeof split> & { wallSeconds: number; cpuSeconds: number; ok: boolean }> = [];
try {
  const file = join(workDir, 'random.bin');
  await createRandomFile(file, sizeBytes);
  const crc = await fileCrc32(file);
  for (let run = 1; run <= runs; run++) {
    const profiles = join(workDir, `prof-${run}`);
    const received = sink.nextRequest('PUT');
    const timed = await timedRun(
      process.execPath,
      ['--cpu-prof', '--cpu-prof-dir', profiles, join(tree, 'bench/put-once-built.mjs'), `${sink.url}/p-${run}`, file],
      {
        env: {
          ...process.env,
          BGTRANSFER_HOST: 'inproc',
          BGTRANSFER_HOME: join(workDir, `home-${run}`),
          BGTRANSFER_APP_ID: 'bench',
        },
        cwd: tree,
      },
    );
    const request = timed.exitCode === 0 ? await received : undefined;
    const ok = request !== undefined && request.bytes === sizeBytes && request.crc32 === crc;
    for (const name of await readdir(profiles)) {
      const parts = split(JSON.parse(await readFile(join(profiles, name), 'utf8')) as CpuProfile);
      results.push({ ...parts, wallSeconds: timed.wallSeconds, cpuSeconds: timed.cpuSeconds, ok });
      console.log(
        `run ${run}: ${ok ? 'ok' : 'FAILED'}, ${timed.wallSeconds.toFixed(2)} s wall, ${timed.cpuSeconds.toFixed(2)} s CPU; ` +
          `main thread sampled ${parts.startMs.toFixed(0)} ms before the body, ${parts.bodyMs.toFixed(0)} ms from it on`,
      );
      console.log('| body phase | ms | share |\n|---|---|---|');
      for (const [key, ms] of Object.entries(parts.body)) {
        console.log(`| ${key} | ${ms.toFixed(0)} | ${((100 * ms) / parts.bodyMs).toFixed(1)}% |`);
      }
    }
  }
} finally {
  await sink.close();
  await rm(workDir, { recursive: true, force: true });
}
const date = new Date();
const path = await writeBenchResult('put-profile', date, {
  benchmark: 'put-profile',
  date: date.toISOString(),
  // The directory name only: a result file is committed, the machine's paths are not its business.
  tree: basename(tree),
  sizeBytes,
  environment: benchEnvironment(loadBefore),
  results,
});
console.log(`results: ${path}`);
