import { createRequire } from 'node:module';
import type { Logger, LoggerOptions, pino as Pino } from 'pino';
import { redactText } from './redact.ts';

/**
 * Options every bgtransfer logger shares. Callers log guids, codes and URIs without credentials; as a
 * second line of defence each finished line passes through redactText, which masks userinfo, signed
 * query values and credential header values wherever they appear (an `err` with a cause chain, a URL
 * in a peer's message).
 */
export function baseLoggerOptions(name: string, level: string): LoggerOptions {
  return { name, level, hooks: { streamWrite: redactText } };
}

/** What the socket client logs through: pino's methods it uses, which a pino Logger also satisfies. */
export interface LogSink {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** pino's default levels (bgtransfer defines no others). */
const LEVEL_VALUES: ReadonlyMap<string, number> = new Map([
  ['trace', 10],
  ['debug', 20],
  ['info', 30],
  ['warn', 40],
  ['error', 50],
  ['fatal', 60],
  ['silent', Number.POSITIVE_INFINITY],
]);

/**
 * The library's logger (core/logger.ts createLogger: stderr, `BGTRANSFER_LOG_LEVEL`, warnings by
 * default), with pino loaded at the first line that passes the level. The socket client logs a
 * handful of warnings in its life, most often none; pino is a tenth of its start-up. pino is a
 * CommonJS package, so it loads synchronously and the line is written when it is logged.
 */
export function createLazyLogger(name: string, env: NodeJS.ProcessEnv = process.env): LogSink {
  const level = env.BGTRANSFER_LOG_LEVEL ?? 'warn';
  let logger: LogSink | undefined;
  const load = (): LogSink => {
    logger ??= stderrLogger(name, level);
    return logger;
  };
  const threshold = LEVEL_VALUES.get(level);
  // A level pino does not know: pino's own verdict (it throws), as createLogger gives it.
  if (threshold === undefined) load();
  const at =
    (method: keyof LogSink, value: number) =>
    (fields: object, message: string): void => {
      if (threshold !== undefined && value >= threshold) load()[method](fields, message);
    };
  return { debug: at('debug', 20), info: at('info', 30), warn: at('warn', 40) };
}

/** What core/logger.ts createLogger makes (pino on stderr), with pino loaded only now. */
function stderrLogger(name: string, level: string): Logger {
  // The module's CommonJS export is the pino function (its ES named export is the same function).
  const pino = createRequire(import.meta.url)('pino') as typeof Pino;
  return pino(baseLoggerOptions(name, level), pino.destination(2));
}

/**
 * The engine's logger in an app's process (BGTRANSFER_HOST=inproc): the pino Logger that createLogger
 * makes, with pino loaded at the first line that passes the level, or at the first use of anything
 * else a Logger has (`child`, `level`, …), which is then pino's own. An app's engine logs warnings
 * and errors only by default, and a healthy upload logs none of those: loading pino (about 25 ms of
 * CPU here, a twentieth of an in-process engine's start) was paid for no line. `load` is for tests.
 */
export function createLazyEngineLogger(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
  load: (name: string, level: string) => Logger = stderrLogger,
): Logger {
  const level = env.BGTRANSFER_LOG_LEVEL ?? 'warn';
  let logger: Logger | undefined;
  const real = (): Logger => {
    logger ??= load(name, level);
    return logger;
  };
  const threshold = LEVEL_VALUES.get(level);
  // A level pino does not know: pino's own verdict (it throws), as createLogger gives it.
  if (threshold === undefined) real();
  const levelMethods = new Map<string, (...args: unknown[]) => void>();
  for (const [method, value] of LEVEL_VALUES) {
    if (method === 'silent') continue;
    levelMethods.set(method, (...args: unknown[]) => {
      if (threshold !== undefined && value < threshold) return;
      const target = real() as unknown as Record<string, (...lineArgs: unknown[]) => void>;
      target[method]?.(...args);
    });
  }
  // The Proxy stands for a pino Logger: its level methods are the filters above until pino is
  // loaded, everything else is pino's own (loaded for it). Typed as the Logger it stands for.
  return new Proxy({} as Logger, {
    get(_target, key) {
      if (logger === undefined && typeof key === 'string') {
        const method = levelMethods.get(key);
        if (method !== undefined) return method;
      }
      const target = real();
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
    set(_target, key, value) {
      return Reflect.set(real(), key, value);
    },
  });
}
