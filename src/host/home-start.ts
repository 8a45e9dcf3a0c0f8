import { guardHome } from '../core/home-guard.ts';
import { writeHostFailure } from '../core/host-failure.ts';
import type { Logger } from '../core/logger.ts';

/**
 * The host's first step: a safe home (core/home-guard.ts), then its log. What goes wrong here cannot go
 * to host.log, so it goes to stderr (the launcher points it at host.log when that is safe, the terminal
 * runs `bgtransfer host`); a failure to open the log in a safe home is also left in host.failed for
 * the launcher. Returns undefined when the host must not go on.
 */
export function openHomeAndLog(home: string, createLog: () => Logger): Logger | undefined {
  try {
    guardHome(home);
  } catch (error) {
    process.stderr.write(`bgtransfer host: ${(error as Error).message}\n`);
    return undefined;
  }
  try {
    return createLog();
  } catch (error) {
    process.stderr.write(`bgtransfer host: ${(error as Error).message}\n`);
    writeHostFailure(home, error);
    return undefined;
  }
}
