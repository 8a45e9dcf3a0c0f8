import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { TransferError } from '../core/errors.ts';
import { liveLockOwner } from '../core/home-lock.ts';
import { homeLayout } from '../core/paths.ts';
import { hostCommand } from './host-command.ts';
import { hostEnvironment } from './host-environment.ts';
import { hostLogPath, hostSocketPath } from './protocol.ts';

/**
 * Finds or starts the per-user transfer host ("starting it detached if it is not
 * running, so transfers go on after the app exits"). Starting is race-free by construction: a number
 * of clients may spawn a host at once; the engine lock lets exactly one of them run (the others exit 0,
 * see host/host-main.ts) and every client just polls the socket until that one listens.
 */

export interface EnsureHostOptions {
  /** Filtered for the host (host-environment.ts; BGTRANSFER_HOME is set to `home` whatever it says). */
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

function spawnHost(home: string, env: NodeJS.ProcessEnv): SpawnedHost {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  // The host logs with pino to host.log itself; this catches what happens before that (a crash at load).
  const logFd = openSync(hostLogPath(home), 'a', 0o600);
  const spawned: SpawnedHost = { exitCode: undefined };
  try {
    const command = hostCommand();
    const child = spawn(command.node, command.args, {
      cwd: home,
      detached: true,
      env: hostEnvironment(env, home),
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

function unreachable(message: string, cause?: unknown): TransferError {
  return new TransferError('BT_ERR_HOST_UNREACHABLE', message, cause === undefined ? {} : { cause });
}
