import { spawn } from 'node:child_process';
import { closeSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { TransferError } from '../core/errors.ts';
import { guardHome, openHomeFileForAppend } from '../core/home-guard.ts';
import { liveLockOwner } from '../core/home-lock.ts';
import { clearHostFailure, hostFailureError, readHostFailure } from '../core/host-failure.ts';
import { homeLayout, hostLogPath, hostSocketPath } from '../core/paths.ts';
import { hostCommand } from './host-command.ts';
import { hostEnvironment } from './host-environment.ts';
import { StartLock } from './start-lock.ts';

/**
 * Finds or starts the per-user transfer host, detached, so transfers go on after the app exits.
 * One client at a time starts it (start-lock.ts); the others poll the socket until it listens. A host
 * that refuses to start says why in `host.failed` (core/host-failure.ts), and the call fails with that
 * code; a host that dies while starting (killed, crashed) is started again, up to MAX_STARTS times.
 */

export interface EnsureHostOptions {
  /** Passed to the host (BGTRANSFER_HOME is set to `home` whatever it says). */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for a listening host. @default 10000 */
  timeoutMs?: number;
}

const DEFAULT_START_TIMEOUT_MS = 10_000;
/** Beyond the timeout, how long a host this call spawned may still take while it runs. */
const STARTING_GRACE_MS = 50_000;
const POLL_INTERVAL_MS = 25;
/** Hosts one call starts at most when each dies while starting. */
const MAX_STARTS = 3;
/** Wait before the second start; doubled before the third. */
const RESTART_BACKOFF_MS = 200;

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
  // The app checks the home too: a host cannot report an unsafe home from inside it.
  guardHome(home);
  const startedAtMs = Date.now();
  const deadline = performance.now() + (options.timeoutMs ?? DEFAULT_START_TIMEOUT_MS);
  let lock: StartLock | undefined;
  let child: SpawnedHost | undefined;
  let starts = 0;
  try {
    for (;;) {
      try {
        return await connectSocket(path);
      } catch (error) {
        if (!isHostAbsent(error)) throw unreachable(`cannot connect to the transfer host at ${path}`, error);
      }
      if (lock === undefined) {
        // Another client's host refused to start since this call began: its reason is ours too.
        const failure = readHostFailure(home);
        if (failure !== undefined && failure.atMs >= startedAtMs && liveLockOwner(home) === undefined) {
          throw hostFailureError(failure);
        }
        if (liveLockOwner(home) === undefined) lock = StartLock.tryAcquire(home);
      }
      if (lock !== undefined && (child === undefined || child.exitCode !== undefined)) {
        if (child !== undefined) {
          const failure = readHostFailure(home);
          if (failure !== undefined && failure.pid === child.pid) throw hostFailureError(failure);
          if (child.exitCode === 0 && liveLockOwner(home) !== undefined) {
            // It found the engine lock taken (a host shutting down, an in-process engine): wait for that one.
          } else if (starts >= MAX_STARTS) {
            throw unreachable(
              `the transfer host exited ${describeExit(child)} while starting, ${starts} times; see ${hostLogPath(home)}`,
            );
          } else {
            await sleep(RESTART_BACKOFF_MS * 2 ** (starts - 1));
          }
        }
        if (liveLockOwner(home) === undefined && (child === undefined || child.exitCode !== undefined)) {
          // Checked again under the lock: the host of the previous holder may have just started listening.
          const socket = await connectSocket(path).catch(() => undefined);
          if (socket !== undefined) return socket;
          clearHostFailure(home);
          child = spawnHost(home, options.env ?? process.env);
          starts += 1;
        }
      }
      const childStarting = child !== undefined && child.exitCode === undefined;
      // A host this call spawned is given longer while it still runs: on a loaded machine loading Node and
      // the engine alone can take seconds, and its own failure report (host.failed) is worth waiting for.
      if (performance.now() > deadline && !(childStarting && performance.now() < deadline + STARTING_GRACE_MS)) {
        const failure = readHostFailure(home);
        if (failure !== undefined && failure.pid === child?.pid) throw hostFailureError(failure);
        const owner = liveLockOwner(home);
        const holder = owner === undefined ? '' : ` (process ${owner} holds ${homeLayout(home).lock})`;
        throw unreachable(`the transfer host did not start listening on ${path}${holder}; see ${hostLogPath(home)}`);
      }
      await sleep(POLL_INTERVAL_MS);
    }
  } finally {
    lock?.release();
  }
}

interface SpawnedHost {
  pid: number | undefined;
  /** undefined while it runs. */
  exitCode: number | undefined;
  signal: NodeJS.Signals | undefined;
}

function describeExit(child: SpawnedHost): string {
  return child.signal === undefined ? `with code ${child.exitCode}` : `on ${child.signal}`;
}

function spawnHost(home: string, env: NodeJS.ProcessEnv): SpawnedHost {
  // The host logs with pino to host.log itself; this catches what happens before that (a crash at load).
  const logFd = openHomeFileForAppend(hostLogPath(home), 'the host log');
  const spawned: SpawnedHost = { pid: undefined, exitCode: undefined, signal: undefined };
  try {
    const command = hostCommand();
    const child = spawn(command.node, command.args, {
      cwd: home,
      detached: true,
      env: hostEnvironment(env, home),
      stdio: ['ignore', logFd, logFd],
    });
    spawned.pid = child.pid;
    child.once('error', () => {
      spawned.exitCode = 127;
    });
    child.once('exit', (code, signal) => {
      spawned.signal = signal ?? undefined;
      spawned.exitCode = code ?? (signal ? 128 : 1);
    });
    child.unref();
  } finally {
    closeSync(logFd);
  }
  return spawned;
}

function unreachable(message: string, cause?: unknown): TransferError {
  return new TransferError('BT_ERR_HOST_UNREACHABLE', message, cause === undefined ? {} : { cause });
}
