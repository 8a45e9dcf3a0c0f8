import { type Logger, pino } from 'pino';
import { baseLoggerOptions } from './lazy-logger.ts';

export type { Logger };
export { baseLoggerOptions };

/**
 * The library's logger. Quiet by default (warnings and errors on stderr) so an app that embeds the
 * engine in-process is not flooded; `BGTRANSFER_LOG_LEVEL` raises or lowers it.
 */
export function createLogger(name: string, env: NodeJS.ProcessEnv = process.env): Logger {
  return pino(baseLoggerOptions(name, env.BGTRANSFER_LOG_LEVEL ?? 'warn'), pino.destination(2));
}
