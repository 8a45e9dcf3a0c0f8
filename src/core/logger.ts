import { type Logger, type LoggerOptions, pino } from 'pino';
import { redactText } from './redact.ts';

export type { Logger };

/**
 * Options every bgtransfer logger shares. Callers log guids, codes and URIs without credentials; as a
 * second line of defence each finished line passes through redactText, which masks userinfo, signed
 * query values and credential header values wherever they appear (an `err` with a cause chain, a URL
 * in a peer's message).
 */
export function baseLoggerOptions(name: string, level: string): LoggerOptions {
  return { name, level, hooks: { streamWrite: redactText } };
}

/**
 * The library's logger. Quiet by default (warnings and errors on stderr) so an app that embeds the
 * engine in-process is not flooded; `BGTRANSFER_LOG_LEVEL` raises or lowers it.
 */
export function createLogger(name: string, env: NodeJS.ProcessEnv = process.env): Logger {
  return pino(baseLoggerOptions(name, env.BGTRANSFER_LOG_LEVEL ?? 'warn'), pino.destination(2));
}
