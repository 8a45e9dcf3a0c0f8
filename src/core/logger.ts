import type { Logger } from 'pino';
import { baseLoggerOptions, createLazyPinoLogger } from './lazy-logger.ts';

export type { Logger };
export { baseLoggerOptions };

/**
 * The library's logger. Quiet by default (warnings and errors on stderr) so an app that embeds the
 * engine in-process is not flooded; `BGTRANSFER_LOG_LEVEL` raises or lowers it. pino loads at its
 * first line that passes the level (createLazyPinoLogger).
 */
export function createLogger(name: string, env: NodeJS.ProcessEnv = process.env): Logger {
  return createLazyPinoLogger(name, env);
}
