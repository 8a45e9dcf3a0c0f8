import { setTimeout as sleep } from 'node:timers/promises';
import { isTransferError, TransferError } from '../core/errors.ts';
import { liveLockOwner } from '../core/home-lock.ts';
import { isProcessRunning } from '../core/process.ts';
import { isHostAbsent } from './host-launcher.ts';
import { type HostStatus, isHostVersionMismatch } from './protocol.ts';
import { SocketPort } from './socket-port.ts';

/**
 * `bgtransfer host status|stop`. Neither starts a host: they talk to the one
 * that listens on `${home}/host.sock`, if any.
 */

export type { HostStatus };

export interface HostControlOptions {
  env?: NodeJS.ProcessEnv;
  /** The app whose counts `status` reports. @default the calling app */
  appId?: string;
}

/** How long stopHost waits for the host process to end (engine.close waits for aborted requests). */
const STOP_TIMEOUT_MS = 15_000;

/** The running host's status, or null when no host is running. */
export async function hostStatus(home: string, options: HostControlOptions = {}): Promise<HostStatus | null> {
  const port = new SocketPort(home, { autoStart: false, env: options.env ?? process.env });
  try {
    return await port.status(options.appId);
  } catch (error) {
    if (isHostAbsent(error)) return null;
    throw toUnreachable(error);
  } finally {
    await port.close();
  }
}

/**
 * Asks the running host to stop and waits until its process has ended. Running uploads stay persisted
 * and are recovered by the next host (R12). Resolves false when no host was running.
 */
export async function stopHost(home: string, options: HostControlOptions = {}): Promise<boolean> {
  const port = new SocketPort(home, { autoStart: false, env: options.env ?? process.env });
  let pid: number;
  try {
    pid = (await port.status(options.appId)).pid;
    await port.shutdown(options.appId).catch((error: unknown) => {
      // The host may close the connection before its reply is read: it is stopping either way.
      if (!isTransferError(error) || error.code !== 'BT_ERR_HOST_UNREACHABLE') throw error;
    });
  } catch (error) {
    if (isHostAbsent(error)) return false;
    // A host of another bgtransfer version cannot be asked in words; the engine lock names its process,
    // and SIGTERM stops it as cleanly as `shutdown` (its transfers stay in the store for the next host).
    const owner = isHostVersionMismatch(error) ? liveLockOwner(home) : undefined;
    if (owner === undefined) throw toUnreachable(error);
    pid = owner;
    process.kill(pid, 'SIGTERM');
  } finally {
    await port.close();
  }
  const deadline = performance.now() + STOP_TIMEOUT_MS;
  while (isProcessRunning(pid)) {
    if (performance.now() > deadline) {
      throw new TransferError('BT_ERR_HOST_UNREACHABLE', `the transfer host (process ${pid}) did not stop in time`);
    }
    await sleep(20);
  }
  return true;
}

function toUnreachable(error: unknown): TransferError {
  if (isTransferError(error)) return error;
  return new TransferError('BT_ERR_HOST_UNREACHABLE', `cannot reach the transfer host: ${String(error)}`, {
    cause: error,
  });
}
