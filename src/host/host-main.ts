import { rmSync } from 'node:fs';
import { isTransferError } from '../core/errors.ts';
import { guardHomeEntry } from '../core/home-guard.ts';
import { removeZombieLock } from '../core/home-lock.ts';
import { clearHostFailure, writeHostFailure } from '../core/host-failure.ts';
import type { Logger } from '../core/logger.ts';
import { releaseOptimizingCompiler } from '../core/optimizing-compiler.ts';
import { hostSocketPath } from '../core/paths.ts';
import { openHomeAndLog } from './home-start.ts';
import { createHostLogger } from './host-log.ts';
import { watchIdle } from './idle-exit.ts';
import { openTransferService } from './open-transfer-service.ts';
import type { TransferService } from './transfer-service.ts';

/**
 * The transfer host's lifecycle, what `bgtransfer host` and the detached host process
 * (ipc/host-entry.ts) run: take the engine lock, serve the socket, stop on SIGTERM/SIGINT or `shutdown`.
 * Stopping closes the engine without touching stored states, so running uploads are recovered by the
 * next host (PUT restarted, POST terminated: R12, R13).
 */

export interface RunHostOptions {
  home: string;
  /** `bgtransfer host`: log to stderr as well as to host.log. @default false */
  foreground?: boolean;
  env?: NodeJS.ProcessEnv;
  /** The host's V8 flags in force (ipc/host-flags.ts), logged at start. */
  v8Flags?: readonly string[];
  /**
   * Serves the service on the socket (ipc/host-server.ts, passed in by ipc/host-process.ts: the wire
   * protocol lives in ipc, which sits above host, so host never imports it).
   */
  serve(options: SocketServeOptions & { service: TransferService }): Promise<SocketServer>;
}

export interface SocketServeOptions {
  socketPath: string;
  log: Logger;
  /** A client sent `shutdown`; called after its reply was queued. */
  onShutdownRequest(): void;
}

export interface SocketServer {
  /** Stops accepting, ends every connection (the socket file is removed by the close). */
  close(): Promise<void>;
  /** Open connections; the idle watch lets the host exit only when there are none. */
  readonly connectionCount: number;
}

/** Resolves with the exit code once the host has stopped (0 also when another host already runs). */
export async function runHost(options: RunHostOptions): Promise<number> {
  const { home } = options;
  const env = options.env ?? process.env;
  // 0700 home + 0600 socket: only the owning OS user can reach the host (docs/architecture.md).
  const log = openHomeAndLog(home, () => createHostLogger(home, options.foreground ?? false, env));
  if (log === undefined) return 1;
  // What a user who started `bgtransfer host` by hand can check: the V8 flags it runs with.
  log.info({ pid: process.pid, v8Flags: options.v8Flags ?? [] }, 'transfer host starting');
  const socketPath = hostSocketPath(home);

  removeZombieLock(home, log);
  let service: TransferService;
  try {
    // The engine logs into host.log too (rotated with it), as quietly as in-process unless told otherwise.
    const engineLog = log.child({ component: 'engine' }, { level: env.BGTRANSFER_LOG_LEVEL ?? 'warn' });
    service = await openTransferService(home, env, engineLog, {
      onError(error) {
        // Nothing of the failed transaction was acknowledged; the engine's memory no longer matches
        // the store, so the host ends and the next one recovers from what is on disk.
        log.fatal({ err: error }, 'the store could not commit; exiting');
        process.exit(70);
      },
    });
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
  let server: SocketServer | undefined;
  try {
    server = await options.serve({ service, socketPath, log, onShutdownRequest: () => stop('shutdown') });
    clearHostFailure(home);
    log.info({ home, socketPath }, 'transfer host listening');
    // Start-up is over: from now on V8 optimises what becomes hot (core/optimizing-compiler.ts).
    releaseOptimizingCompiler();
    const listening = server;
    const stopIdleWatch = watchIdle({
      isIdle: () => listening.connectionCount === 0 && !service.hasWork(),
      idleMs: () => service.config.hostIdleExitMs,
      onIdle: () => stop('idle'),
    });
    const reason = await stopped;
    stopIdleWatch();
    log.info({ reason }, 'transfer host stopping');
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
