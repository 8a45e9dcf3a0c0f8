/**
 * `npm run demo`: a 64 MiB upload that survives `kill -9` of the transfer host.
 *
 * 1. starts a local HTTP server that hashes what it receives and reads ~10 MiB/s (so you can watch);
 * 2. writes a 64 MiB random file into a fresh, temporary BGTRANSFER_HOME;
 * 3. runs `bgtransfer upload FILE URL --method PUT` (BGTRANSFER_HOST=auto: the command starts the per-user
 *    transfer host and shows the progress bar);
 * 4. kills the host with SIGKILL half way; the attached command reconnects, which starts a new host, and
 *    the new host recovers the upload. The server speaks no resumable protocol, so the PUT is sent again
 *    from byte 0 (R38; a POST would fail instead, R12);
 * 5. compares the server's sha256 with the file's, then stops the host and the server.
 *
 * Runs from source right after `npm ci` (no build step): node --conditions=source --import tsx.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { hostStatus, stopHost } from '../src/ipc/host-control.ts';
import { makeTempDir, writeRandomFile } from '../test/helpers/temp-dir.ts';
import { startUploadServer } from '../test/helpers/upload-server.ts';

const FILE_BYTES = 64 * 1024 * 1024;
/** ~6.4 s for the whole file: long enough to watch, short enough to wait for twice. */
const SERVER_BYTES_PER_SECOND = 10 * 1024 * 1024;
const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const MiB = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

const tty = process.stdout.isTTY === true;
/** Set while `bgtransfer upload` draws its bar on our terminal. */
let barShown = false;
const paint = (code: string, text: string): string => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);

/** The demo's own lines; on a terminal they start below the progress bar's line, never inside it. */
function say(message: string): void {
  process.stdout.write(`${barShown && tty ? '\n' : ''}${paint('1', '[demo]')} ${message}\n`);
}

const home = await makeTempDir('bgtransfer-demo-');
const server = await startUploadServer({ throttleBytesPerSecond: SERVER_BYTES_PER_SECOND });
const env: NodeJS.ProcessEnv = {
  ...process.env,
  BGTRANSFER_HOME: home.path,
  BGTRANSFER_HOST: 'auto',
  // The client library logs its reconnect as JSON warnings; the demo narrates that itself.
  BGTRANSFER_LOG_LEVEL: process.env.BGTRANSFER_LOG_LEVEL ?? 'error',
};
let upload: ChildProcess | undefined;
let cleanedUp = false;

/** Stops what the demo started: the upload command, the host (gracefully), the server, the temporary home. */
async function cleanUp(): Promise<void> {
  if (cleanedUp) return;
  cleanedUp = true;
  // A command still attached would start a new host after stopHost: end it first (it only detaches).
  if (upload && upload.exitCode === null && upload.signalCode === null) {
    const exited = new Promise((resolve) => upload?.once('exit', resolve));
    upload.kill('SIGTERM');
    await exited;
  }
  await stopHost(home.path, { env }).catch((error: unknown) => say(`could not stop the host: ${String(error)}`));
  await server.close();
  await home.cleanup();
}

// Ctrl-C reaches the upload command too (it detaches); the demo then cleans up and leaves.
process.once('SIGINT', () => {
  void cleanUp().then(() => process.exit(130));
});

try {
  say(`BGTRANSFER_HOME=${home.path}`);
  const file = await writeRandomFile(home.path, 'random-64MiB.bin', FILE_BYTES);
  const url = `${server.url}/upload/random-64MiB.bin`;
  say(`wrote ${file.path} (${MiB(file.size)}, sha256 ${file.sha256})`);
  say(`server at ${server.url} reads at most ${MiB(SERVER_BYTES_PER_SECOND)}/s`);
  say(`$ bgtransfer upload ${file.path} ${url} --method PUT`);

  barShown = true;
  upload = spawn(
    process.execPath,
    ['--conditions=source', '--import', import.meta.resolve('tsx'), CLI, 'upload', file.path, url, '--method', 'PUT'],
    { env, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  let uploadEnded = false;
  const uploadExit = new Promise<number>((resolve) => {
    upload?.once('exit', (code, signal) => {
      uploadEnded = true;
      resolve(code ?? (signal ? 128 : 1));
    });
  });

  // Half way through the first attempt, as the server counts it.
  await waitFor(
    () => {
      if (uploadEnded) throw new Error('bgtransfer upload ended before half way (see its message above)');
      return firstPutBytes() >= FILE_BYTES / 2;
    },
    60_000,
    'the upload to reach half way',
  );
  const first = await hostStatus(home.path, { env });
  if (first === null) throw new Error('no transfer host is running, yet the upload is');
  const atKill = firstPutBytes();
  process.kill(first.pid, 'SIGKILL');
  say(`killed the transfer host (pid ${first.pid}) with SIGKILL at ${MiB(atKill)} of ${MiB(FILE_BYTES)}`);

  const second = await waitForValue(async () => {
    const status = await hostStatus(home.path, { env }).catch(() => null);
    return status !== null && status.pid !== first.pid ? status : null;
  }, 30_000);
  say(
    `the attached command reconnected and started a new transfer host (pid ${second.pid}), which recovered the upload; ` +
      'this server speaks no resumable protocol, so the PUT starts again from byte 0 (R38)',
  );

  const exitCode = await uploadExit;
  barShown = false;
  // Only the PUTs carry the file (an "auto" resume probe may add an OPTIONS request).
  const puts = server.requests.filter((request) => request.method === 'PUT');
  const received = puts.find((request) => request.complete);
  say(
    `bgtransfer upload exited with code ${exitCode}; the server saw ${puts.length} PUT requests (the first cut off by the kill)`,
  );
  say(`file   sha256 ${file.sha256}`);
  say(`server sha256 ${received?.sha256 ?? '(no complete request)'}`);
  if (exitCode === 0 && received?.sha256 === file.sha256) {
    say(`${paint('32', 'verified')}: the server received exactly the file, despite the host being killed mid-upload`);
  } else {
    say(paint('31', 'NOT verified'));
    process.exitCode = 1;
  }
} catch (error) {
  say(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanUp();
  say('stopped the transfer host and the server, and removed the temporary home');
}

/** Body bytes the server has read of the first PUT (the attempt the demo interrupts). */
function firstPutBytes(): number {
  return server.requests.find((request) => request.method === 'PUT')?.bodyBytes ?? 0;
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function waitForValue<T>(probe: () => Promise<T | null>, timeoutMs: number): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (performance.now() > deadline) throw new Error('timed out waiting for a new transfer host');
    await sleep(50);
  }
}
