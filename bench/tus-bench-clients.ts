import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NODE_TS_FLAGS } from '../test/helpers/process-tools.ts';
import { sampleRss } from '../test/helpers/rss-sampler.ts';

/**
 * The two clients of bench/tus-vs-tus-js-client.ts, each a plain-JavaScript app in a fresh Node
 * process so that its peak RSS is its own:
 * - tus-js-client 4.3.1: `new tus.Upload(fs.createReadStream(file), { endpoint })` — a file stream
 *   (tus-js-client re-opens the path per PATCH), chunkSize unset (one PATCH for the rest);
 * - bgtransfer: the public API with `resumeProtocol = "tus"`, in-process engine
 *   (BGTRANSFER_HOST=inproc, so the upload runs in the measured process), fresh BGTRANSFER_HOME.
 * `via: "built"` compiles src/ with tsc into .tmp/tus-bench-dist (dist/ is left alone) and both apps
 * run on plain Node; `via: "tsx"` runs bgtransfer from src/ and gives both processes the tsx loader.
 */

export type ClientName = 'tus-js-client' | 'bgtransfer';
export type Via = 'built' | 'tsx';

export interface ClientSetup {
  via: Via;
  scripts: Record<ClientName, string>;
  /** Node arguments before the script. */
  nodeArgs: string[];
  /** What bgtransfer was loaded from. */
  bgtransferEntry: string;
  workDir: string;
}

export interface ClientRun {
  client: ClientName;
  ok: boolean;
  /** Spawn until the result line. */
  wallSeconds: number;
  /** Upload start (createUpload / new Upload) until success, timed in the child. */
  transferSeconds: number;
  /** max(VmHWM sampled from outside, the child's own ru_maxrss). */
  peakRssBytes: number;
  /** The child's CPU (user + system, all threads) from its start until the result line. */
  cpuSeconds: number;
  /** Of that, the main thread's (/proc/self/task/<pid>/stat): the thread that hashes, parses and writes. */
  mainThreadCpuSeconds: number;
  uploadUrl: string | null;
  error: string | null;
  stderrTail: string;
}

const REPO = fileURLToPath(new URL('..', import.meta.url));
const BUILD_DIR = join(REPO, '.tmp', 'tus-bench-dist');
const RESULT_TIMEOUT_MS = 30 * 60_000;

/** Writes the two apps into `workDir`; with `via: "built"`, compiles the package first. */
export async function prepareClients(workDir: string, via: Via): Promise<ClientSetup> {
  let bgtransferEntry: string;
  if (via === 'built') {
    await rm(BUILD_DIR, { recursive: true, force: true });
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    try {
      execFileSync(
        process.execPath,
        [tsc, '-p', 'tsconfig.build.json', '--outDir', BUILD_DIR, '--declaration', 'false', '--sourceMap', 'false'],
        { cwd: REPO, stdio: 'pipe' },
      );
    } catch (error) {
      // Type errors do not stop tsc from emitting; a missing entry point does stop the benchmark.
      process.stderr.write(`tsc reported errors (the emitted JavaScript is used):\n${String(error)}\n`);
    }
    bgtransferEntry = join(BUILD_DIR, 'index.js');
  } else {
    bgtransferEntry = join(REPO, 'src', 'index.ts');
  }
  await mkdir(workDir, { recursive: true });
  const scripts: Record<ClientName, string> = {
    'tus-js-client': join(workDir, 'tus-js-client-app.mjs'),
    bgtransfer: join(workDir, 'bgtransfer-app.mjs'),
  };
  await writeTusJsClientApp(scripts['tus-js-client']);
  await writeBgtransferApp(scripts.bgtransfer, bgtransferEntry);
  return { via, scripts, nodeArgs: via === 'tsx' ? [...NODE_TS_FLAGS] : [], bgtransferEntry, workDir };
}

/** One upload of `file` to the tus creation endpoint by one client, measured. */
export function runClient(
  setup: ClientSetup,
  client: ClientName,
  file: string,
  endpoint: string,
  retryDelayMs: number,
): Promise<ClientRun> {
  return runApp(setup, setup.scripts[client], client, file, endpoint, retryDelayMs);
}

/** One upload by the app at `script` (written by writeTusJsClientApp or writeBgtransferApp), measured. */
export async function runApp(
  setup: Pick<ClientSetup, 'nodeArgs' | 'workDir'>,
  script: string,
  client: ClientName,
  file: string,
  endpoint: string,
  retryDelayMs: number,
): Promise<ClientRun> {
  const home = await mkdtemp(join(setup.workDir, 'bgtransfer-home-'));
  await writeFile(join(home, 'config.json'), JSON.stringify({ retryBaseDelayMs: retryDelayMs, maxAttempts: 10 }));
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [...setup.nodeArgs, script, file, endpoint, String(retryDelayMs)], {
    env: {
      ...process.env,
      BGTRANSFER_HOST: 'inproc',
      BGTRANSFER_HOME: home,
      BGTRANSFER_APP_ID: 'tus-bench',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const sampler = sampleRss(child.pid ?? 0, 20);
  const stderr: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr.push(line);
    if (stderr.length > 40) stderr.shift();
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const line = await new Promise<string | null>((resolve) => {
    const timer = setTimeout(() => resolve(null), RESULT_TIMEOUT_MS);
    createInterface({ input: child.stdout }).on('line', (text) => {
      if (!text.startsWith('{"type"')) return;
      clearTimeout(timer);
      resolve(text);
    });
    void exited.then(() => {
      clearTimeout(timer);
      resolve(null);
    });
  });
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const killer = setTimeout(() => child.kill('SIGKILL'), line === null ? 0 : 10_000);
  await exited;
  clearTimeout(killer);
  const sampled = sampler.stop();
  await rm(home, { recursive: true, force: true });
  const result = (line === null ? { type: 'error', message: 'no result line' } : JSON.parse(line)) as {
    type: 'result' | 'error';
    transferSeconds?: number;
    maxRssBytes?: number;
    cpuSeconds?: number;
    mainThreadCpuSeconds?: number;
    uploadUrl?: string | null;
    message?: string;
  };
  return {
    client,
    ok: result.type === 'result',
    wallSeconds,
    transferSeconds: result.transferSeconds ?? Number.NaN,
    peakRssBytes: Math.max(result.maxRssBytes ?? 0, sampled.peakBytes),
    cpuSeconds: result.cpuSeconds ?? Number.NaN,
    mainThreadCpuSeconds: result.mainThreadCpuSeconds ?? Number.NaN,
    uploadUrl: result.uploadUrl ?? null,
    error: result.type === 'error' ? (result.message ?? 'failed') : null,
    stderrTail: stderr.slice(-10).join('\n'),
  };
}

/** Writes the tus-js-client app (tus-js-client as this repository has it) to `path`. */
export async function writeTusJsClientApp(path: string): Promise<void> {
  const tusEntry = createRequire(import.meta.url).resolve('tus-js-client');
  await writeFile(path, tusJsClientApp(pathToFileURL(tusEntry).href));
}

/** Writes the bgtransfer app, importing the package from `entry` (a built index.js or src/index.ts). */
export async function writeBgtransferApp(path: string, entry: string): Promise<void> {
  await writeFile(path, bgtransferApp(pathToFileURL(entry).href));
}

/**
 * Both apps' result line: their own peak RSS and CPU, and the main thread's CPU, read from /proc
 * (clock ticks of 10 ms), where the hashing, the HTTP parsing and the socket writes run.
 */
const REPORT_FUNCTION = `import { readFileSync } from 'node:fs';
const mainThreadCpuSeconds = () => {
  try {
    const stat = readFileSync(\`/proc/self/task/\${process.pid}/stat\`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
};
const report = (fields) => {
  const usage = process.resourceUsage();
  console.log(JSON.stringify({
    ...fields,
    maxRssBytes: usage.maxRSS * 1024,
    cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
    mainThreadCpuSeconds: mainThreadCpuSeconds(),
  }));
};
`;

/** `node tus-js-client-app.mjs FILE ENDPOINT RETRY_DELAY_MS` → one JSON result line. */
function tusJsClientApp(tusUrl: string): string {
  return `import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import * as tus from ${JSON.stringify(tusUrl)};

const [file, endpoint, retryDelay] = process.argv.slice(2);
const first = Number(retryDelay);
const started = performance.now();
${REPORT_FUNCTION}const upload = new tus.Upload(createReadStream(file), {
  endpoint,
  metadata: { filename: basename(file) },
  // chunkSize unset: Infinity, one PATCH for the rest of the file.
  retryDelays: [first, first * 5, first * 10, first * 20, first * 50],
  onError(error) {
    report({ type: 'error', message: String(error) });
    process.exitCode = 1;
  },
  onSuccess() {
    report({ type: 'result', transferSeconds: (performance.now() - started) / 1000, uploadUrl: upload.url });
  },
});
upload.start();
`;
}

/** `node bgtransfer-app.mjs FILE ENDPOINT` → one JSON result line (BGTRANSFER_HOST=inproc). */
function bgtransferApp(bgtransferUrl: string): string {
  return `import { BackgroundUploader, closeAsync } from ${JSON.stringify(bgtransferUrl)};

const [file, endpoint] = process.argv.slice(2);
const started = performance.now();
${REPORT_FUNCTION}// Works around a bgtransfer bug (BGTRANSFER_HOST=inproc): during a retry back-off nothing holds the event
// loop (the engine's wake timer is unref'd, an in-process watch holds no handle), so an app whose only
// work is \`await startAsync()\` exits with code 13 before the retry. See fault-matrix.test.ts.
const keepAlive = setInterval(() => {}, 60_000);
try {
  const uploader = new BackgroundUploader();
  uploader.resumeProtocol = 'tus';
  const operation = uploader.createUpload(endpoint, file);
  await operation.startAsync();
  report({
    type: 'result',
    transferSeconds: (performance.now() - started) / 1000,
    uploadUrl: operation.getResponseInformation()?.actualUri.absoluteUri ?? null,
  });
} catch (error) {
  report({ type: 'error', message: \`\${error?.code}: \${error?.message ?? error}\` });
  process.exitCode = 1;
} finally {
  clearInterval(keepAlive);
  await closeAsync();
}
`;
}
