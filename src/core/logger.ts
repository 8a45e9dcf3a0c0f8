import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * The library's logger. Quiet by default (warnings and errors on stderr) so an app that embeds the
 * engine in-process is not flooded; `BGTRANSFER_LOG_LEVEL` raises or lowers it. Secrets never go here:
 * callers log guids, codes and URIs without credentials.
 */
export function createLogger(name: string, env: NodeJS.ProcessEnv = process.env): Logger {
  return pino({ name, level: env.BGTRANSFER_LOG_LEVEL ?? 'warn' }, pino.destination(2));
}
