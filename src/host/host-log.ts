import { pino } from 'pino';
import { DEFAULT_CONFIG, loadConfig } from '../core/config.ts';
import { baseLoggerOptions, type Logger } from '../core/logger.ts';
import { homeLayout, hostLogPath } from '../core/paths.ts';
import { RotatingLogFile } from './rotating-log-file.ts';

/**
 * The host's logger: pino to host.log, rotated by size (config `logMaxBytes`, read once at start), and
 * to stderr as well in the foreground. An unreadable config.json is reported by the engine's open
 * (which refuses it); the log just takes the default size then.
 */
export function createHostLogger(home: string, foreground: boolean, env: NodeJS.ProcessEnv): Logger {
  const level = env.BGTRANSFER_LOG_LEVEL ?? 'info';
  let maxBytes = DEFAULT_CONFIG.logMaxBytes;
  try {
    maxBytes = loadConfig(homeLayout(home).config).logMaxBytes;
  } catch {
    // Reported once the engine opens.
  }
  const file = new RotatingLogFile(hostLogPath(home), maxBytes);
  // The same options as every logger of the library: each finished line is redacted (core/redact.ts).
  const options = baseLoggerOptions('bgtransfer-host', level);
  if (!foreground) return pino(options, file);
  return pino(
    options,
    pino.multistream([
      { stream: file, level },
      { stream: pino.destination(2), level },
    ]),
  );
}
