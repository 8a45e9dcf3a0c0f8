import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { TransferError } from '../core/errors.ts';
import { homeLayout, hostLogPath, hostSocketPath } from '../core/paths.ts';
import { isProcessRunning } from '../core/process.ts';

/**
 * Finds or starts the per-user transfer host (spec/contract.md §3: "starting it detached if it is not
 * running, so transfers go on after the app exits"). Starting is race-free by construction: a number
 * of clients may spawn a host at once; the engine lock lets exactly one of them run (the others exit 0,
 * see host/host-main.ts) and every client just polls the socket until that one listens.
 */

export interface EnsureHostOptions {
  /** Passed to the host (BGTRANSFER_HOME is set to `home` whatever it says). */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for a listening host. @default 10000 */
  timeoutMs?: number;
}

const DEFAULT_START_TIMEOUT_MS = 10_000;
const POLL_INTERVAL_MS = 25;

/** Connects to the socket, or rejects with the connect error (ENOENT, ECONNREFUSED, EACCES, …). */
export function connectSocket(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const onError = (error: Error): void => {
      socket.destroy();
      reject(error);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/** ENOENT (no socket file) or ECONNREFUSED (a stale file nobody listens on): no host is serving. */
export function isHostAbsent(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ECONNREFUSED';
}

/** Returns a connected socket to the running host, starting one first if none is listening. */
export async function ensureHost(home: string, options: EnsureHostOptions = {}): Promise<Socket> {
  const path = hostSocketPath(home);
  const deadline = performance.now() + (options.timeoutMs ?? DEFAULT_START_TIMEOUT_MS);
  let child: SpawnedHost | undefined;
  for (;;) {
    try {
      return await connectSocket(path);
    } catch (error) {
      if (!isHostAbsent(error)) throw unreachable(`cannot connect to the transfer host at ${path}`, error);
    }
    if (child?.exitCode !== undefined && child.exitCode !== 0) {
      throw unreachable(
        `the transfer host exited with code ${child.exitCode} while starting; see ${hostLogPath(home)}`,
      );
    }
    // Spawn when no live process holds the engine lock, and again if our host lost a race to one that
    // has since gone away (e.g. a host that was shutting down when we first looked).
    if ((child === undefined || child.exitCode === 0) && liveLockOwner(home) === undefined) {
      child = spawnHost(home, options.env ?? process.env);
    }
    if (performance.now() > deadline) {
      const owner = liveLockOwner(home);
      const holder = owner === undefined ? '' : ` (process ${owner} holds ${homeLayout(home).lock})`;
      throw unreachable(`the transfer host did not start listening on ${path}${holder}; see ${hostLogPath(home)}`);
    }
    await sleep(POLL_INTERVAL_MS);
  }
}

interface SpawnedHost {
  /** undefined while it runs. */
  exitCode: number | undefined;
}

/** The host runs from the same place as this module: from source under tsx, or from dist. */
function hostCommand(): string[] {
  if (import.meta.url.endsWith('.ts')) {
    const entry = fileURLToPath(new URL('./host-entry.ts', import.meta.url));
    // Resolved here, not by the host, so the host finds tsx whatever directory it runs in.
    return ['--conditions=source', '--import', import.meta.resolve('tsx'), entry];
  }
  return [fileURLToPath(new URL('./host-entry.js', import.meta.url))];
}

function spawnHost(home: string, env: NodeJS.ProcessEnv): SpawnedHost {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  // The host logs with pino to host.log itself; this catches what happens before that (a crash at load).
  const logFd = openSync(hostLogPath(home), 'a', 0o600);
  const spawned: SpawnedHost = { exitCode: undefined };
  try {
    const child = spawn(process.execPath, hostCommand(), {
      cwd: home,
      detached: true,
      env: { ...env, BGTRANSFER_HOME: home },
      stdio: ['ignore', logFd, logFd],
    });
    child.once('error', () => {
      spawned.exitCode = 127;
    });
    child.once('exit', (code, signal) => {
      spawned.exitCode = code ?? (signal ? 128 : 1);
    });
    child.unref();
  } finally {
    closeSync(logFd);
  }
  return spawned;
}

/** The pid in `engine.lock` if that process is running (a zombie is not: it holds nothing any more). */
export function liveLockOwner(home: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(homeLayout(home).lock, 'utf8'), 10);
  } catch {
    return undefined;
  }
  return Number.isInteger(pid) && pid > 0 && isProcessRunning(pid) ? pid : undefined;
}

function unreachable(message: string, cause?: unknown): TransferError {
  return new TransferError('BT_ERR_HOST_UNREACHABLE', message, cause === undefined ? {} : { cause });
}

export { isProcessRunning };
