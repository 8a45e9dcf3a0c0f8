import { linkSync, renameSync, rmSync } from 'node:fs';
import { pino } from 'pino';
import { isTransferError } from '../core/errors.ts';
import { guardHomeEntry, openHomeFileForAppend } from '../core/home-guard.ts';
import { clearHostFailure, writeHostFailure } from '../core/host-failure.ts';
import type { Logger } from '../core/logger.ts';
import { homeLayout } from '../core/paths.ts';
import { readPidFile } from '../core/safe-read.ts';
import { isProcessRunning } from '../ipc/host-liveness.ts';
import { hostLogPath, hostSocketPath } from '../ipc/protocol.ts';
import { openHomeAndLog } from './home-start.ts';
import { HostServer } from './host-server.ts';
import { openTransferService } from './open-transfer-service.ts';
import type { TransferService } from './transfer-service.ts';

/**
 * The transfer host's lifecycle (issue 3 item 3), what `bgtransfer host` and the detached host process
 * (host-entry.ts) run: take the engine lock, serve the socket, stop on SIGTERM/SIGINT or `shutdown`.
 * Stopping closes the engine without touching stored states, so running uploads are recovered by the
 * next host (PUT restarted, POST terminated: R12, R13).
 */

export interface RunHostOptions {
  home: string;
  /** `bgtransfer host`: log to stderr as well as to host.log. @default false */
  foreground?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** Resolves with the exit code once the host has stopped (0 also when another host already runs). */
export async function runHost(options: RunHostOptions): Promise<number> {
  const { home } = options;
  const env = options.env ?? process.env;
  // A 0700 home of this user + a 0600 socket: only the owning OS user can reach the host.
  const log = openHomeAndLog(home, () => createHostLogger(home, options.foreground ?? false, env));
  if (log === undefined) return 1;
  log.info({ pid: process.pid }, 'transfer host starting');
  const socketPath = hostSocketPath(home);

  removeZombieLock(home, log);
  let service: TransferService;
  try {
    service = await openTransferService(home, env);
  } catch (error) {
    if (isTransferError(error) && error.code === 'BT_ERR_HOME_IN_USE') {
      // Another host is starting or running (two clients raced to start one): it serves; we leave.
      log.info({ reason: error.message }, 'another process holds the engine lock; exiting');
      return 0;
    }
    log.error({ err: error }, 'cannot open the transfer engine');
    writeHostFailure(home, error);
    return 1;
  }

  // Only now, holding the lock, is a socket file certainly stale (its host was killed); what is not a
  // socket there is not ours to delete.
  try {
    guardHomeEntry(socketPath, 'socket', 'the host socket path');
  } catch (error) {
    log.error({ err: error }, 'cannot listen on the host socket');
    writeHostFailure(home, error);
    await service.close();
    return 1;
  }
  rmSync(socketPath, { force: true });
  let stop: (reason: string) => void = () => undefined;
  const stopped = new Promise<string>((resolve) => {
    stop = resolve;
  });
  const onSignal = (signal: NodeJS.Signals): void => stop(signal);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  let server: HostServer | undefined;
  try {
    server = await HostServer.listen({ service, socketPath, log, onShutdownRequest: () => stop('shutdown') });
    clearHostFailure(home);
    log.info({ home, socketPath }, 'transfer host listening');
    log.info({ reason: await stopped }, 'transfer host stopping');
  } catch (error) {
    log.error({ err: error, socketPath }, 'cannot listen on the host socket');
    writeHostFailure(home, error);
  } finally {
    // From here a second signal (Ctrl-C twice) has its default effect and ends the process at once;
    // that is safe, as stored states are recovered by the next host anyway.
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
  if (!server) {
    await service.close();
    return 1;
  }
  await server.close();
  await service.close();
  log.info('transfer host stopped');
  return 0;
}

/** pino to host.log (and stderr in the foreground), in the style of core/logger.ts. */
function createHostLogger(home: string, foreground: boolean, env: NodeJS.ProcessEnv): Logger {
  const level = env.BGTRANSFER_LOG_LEVEL ?? 'info';
  // sync: a host killed with SIGKILL loses no line it already logged.
  const file = pino.destination({ fd: openHomeFileForAppend(hostLogPath(home), 'the host log'), sync: true });
  if (!foreground) return pino({ name: 'bgtransfer-host', level }, file);
  return pino(
    { name: 'bgtransfer-host', level },
    pino.multistream([
      { stream: file, level },
      { stream: pino.destination(2), level },
    ]),
  );
}

/**
 * HomeLock treats a pid that kill(pid, 0) finds as alive, and a zombie is found: a host killed after
 * its parent app exited stays a zombie where PID 1 does not reap (containers, CI), and would block
 * every later host. A zombie holds nothing, so its lock is stale.
 */
function removeZombieLock(home: string, log: Logger): void {
  const lock = homeLayout(home).lock;
  const pid = readPidFile(lock);
  if (pid === undefined || pid === process.pid || isProcessRunning(pid)) return;
  // Rename first, so that of two hosts starting at once only one moves the file, and a lock another
  // host created in between (not the zombie's) is put back.
  const claimed = `${lock}.${process.pid}.stale`;
  try {
    renameSync(lock, claimed);
  } catch {
    return;
  }
  if (readPidFile(claimed) === pid) {
    log.info({ pid }, 'removed the engine lock of a process that is no longer running');
  } else {
    try {
      linkSync(claimed, lock);
    } catch {
      // A newer lock exists: it wins.
    }
  }
  rmSync(claimed, { force: true });
}
