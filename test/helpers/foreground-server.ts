import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { findFreePort } from './free-port.ts';

/**
 * A Debian server binary (apache2, lighttpd, tinyproxy) run in the foreground as a direct child of
 * the test process, with its config, logs and data in one temp dir, on a free loopback port. It is a
 * child, not a daemon, because PID 1 on the CI machine does not reap orphans; `stop()` waits for it.
 */
export interface ForegroundServer {
  readonly port: number;
  /** The temp dir holding config, logs and data (deleted by stop()). */
  readonly dir: string;
  readonly pid: number;
  /** The text of a file in `dir` ('' when it does not exist), e.g. a log. */
  readFile(name: string): Promise<string>;
  /** Stops the server (SIGTERM, SIGKILL after 10 s), waits for it, deletes `dir`. Idempotent. */
  stop(): Promise<void>;
}

export interface ForegroundServerSpec {
  /** Binary name, looked up on PATH, /usr/sbin and /usr/bin. */
  binary: string;
  /** Debian package that installs it (named in the error when it is missing). */
  debianPackage: string;
  /** Temp dir name prefix. */
  prefix: string;
  /** Writes the config into `dir` for `port`; returns the command-line arguments. */
  prepare(dir: string, port: number): Promise<string[]>;
  /** A log file in `dir` to show when the start fails. */
  errorLog?: string;
}

const START_ATTEMPTS = 3;
const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;

export async function startForegroundServer(spec: ForegroundServerSpec): Promise<ForegroundServer> {
  const binary = findBinary(spec.binary, spec.debianPackage);
  let lastError: Error | undefined;
  // The free port can be taken between probing and the server's bind; a fresh port usually fixes that.
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const port = await findFreePort();
    const dir = await mkdtemp(join(tmpdir(), `bgtransfer-${spec.prefix}-`));
    try {
      return await startOnPort(spec, binary, dir, port);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      lastError = error instanceof Error ? error : new Error(String(error));
      if (!/in use|could not bind|bind\(\)|Address already/i.test(lastError.message)) throw lastError;
    }
  }
  throw lastError ?? new Error(`${spec.binary} did not start`);
}

function findBinary(name: string, debianPackage: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/usr/local/sbin'];
  for (const dir of dirs.filter((entry) => entry !== '')) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next directory
    }
  }
  throw new Error(
    `${name} is not installed. npm test installs it when run as root; locally run: apt-get install -y --no-install-recommends ${debianPackage}`,
  );
}

async function startOnPort(
  spec: ForegroundServerSpec,
  binary: string,
  dir: string,
  port: number,
): Promise<ForegroundServer> {
  const args = await spec.prepare(dir, port);
  const child = spawn(binary, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = waitForExit(child);
  const output: string[] = [];
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
  const read = (name: string): Promise<string> => readFile(join(dir, name), 'utf8').catch(() => '');
  const failure = async (reason: string): Promise<Error> => {
    const log = spec.errorLog === undefined ? '' : await read(spec.errorLog);
    return new Error(`${spec.binary} ${reason}\n${output.join('')}${log}`.trimEnd());
  };
  const ready = await Promise.race([
    waitUntilListening(port).then(
      () => 'ready' as const,
      () => 'timeout' as const,
    ),
    exit.then(() => 'exited' as const),
  ]);
  if (ready === 'exited' || child.exitCode !== null || child.signalCode !== null) {
    throw await failure(`exited during start-up (code ${child.exitCode}, signal ${child.signalCode})`);
  }
  if (ready !== 'ready') {
    await terminate(child, exit);
    throw await failure(`did not listen on 127.0.0.1:${port} within ${READY_TIMEOUT_MS} ms`);
  }
  let stopped: Promise<void> | undefined;
  return {
    port,
    dir,
    pid: child.pid ?? -1,
    readFile: read,
    stop() {
      stopped ??= terminate(child, exit).then(() => rm(dir, { recursive: true, force: true }));
      return stopped;
    },
  };
}

async function waitUntilListening(port: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await accepts(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function waitForExit(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    child.once('exit', () => resolve());
    // A spawn failure emits 'error' and no 'exit'; without a listener it would crash the test process.
    child.once('error', () => resolve());
  });
}

async function terminate(child: ChildProcess, exit: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  try {
    await exit;
    for (const stream of [child.stdout, child.stderr]) {
      if (stream !== null && !stream.closed) await once(stream, 'close');
    }
  } finally {
    clearTimeout(timer);
  }
}
