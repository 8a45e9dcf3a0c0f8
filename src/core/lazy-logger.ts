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

/** pino's methods that write a line, by level value ('silent' is a level, not a line). */
const LINE_METHODS: ReadonlyMap<string | symbol, number> = new Map(
  [...LEVEL_VALUES].filter(([name]) => name !== 'silent'),
);

/**
 * pino for `name` at the level `BGTRANSFER_LOG_LEVEL` names, made at the first `load()`. `threshold` is
 * the level's value; a level pino does not know is loaded at once, so that pino gives its verdict (it
 * throws) as createLogger does.
 */
function deferredPino(name: string, env: NodeJS.ProcessEnv): { load(): Logger; threshold: number | undefined } {
  const level = env.BGTRANSFER_LOG_LEVEL ?? 'warn';
  let logger: Logger | undefined;
  const load = (): Logger => {
    if (logger === undefined) {
      // The module's CommonJS export is the pino function (its ES named export is the same function).
      const pino = createRequire(import.meta.url)('pino') as typeof Pino;
      logger = pino(baseLoggerOptions(name, level), pino.destination(2));
    }
    return logger;
  };
  const threshold = LEVEL_VALUES.get(level);
  if (threshold === undefined) load();
  return { load, threshold };
}

/**
 * The library's logger (core/logger.ts createLogger: stderr, `BGTRANSFER_LOG_LEVEL`, warnings by
 * default), with pino loaded at the first line that passes the level. The socket client logs a
 * handful of warnings in its life, most often none; pino is a tenth of its start-up. pino is a
 * CommonJS package, so it loads synchronously and the line is written when it is logged.
 */
export function createLazyLogger(name: string, env: NodeJS.ProcessEnv = process.env): LogSink {
  const { load, threshold } = deferredPino(name, env);
  const at =
    (method: keyof LogSink, value: number) =>
    (fields: object, message: string): void => {
      if (threshold !== undefined && value >= threshold) load()[method](fields, message);
    };
  return { debug: at('debug', 20), info: at('info', 30), warn: at('warn', 40) };
}

/**
 * createLazyLogger's idea for the engine, which is typed against pino's whole Logger: a stand-in that
 * loads pino at the first line that passes the level, or at the first use of anything else (`child`,
 * `level`, …), and from then on is that logger. An in-process engine logs nothing at the default level
 * in a normal upload, and pino is 29 CommonJS modules of its start-up (docs/performance.md, "tus").
 */
export function createLazyPinoLogger(name: string, env: NodeJS.ProcessEnv = process.env): Logger {
  const { load, threshold } = deferredPino(name, env);
  let loaded = threshold === undefined;
  // A Proxy rather than a class: pino's Logger type has dozens of members, and every one but the line
  // methods is simply the real logger's (loaded on the spot). The cast is what a Proxy needs.
  return new Proxy({} as Logger, {
    get(_target, property) {
      // Not a thenable (pino's logger has none): returning it from an async function must not load pino.
      if (property === 'then') return undefined;
      const value = LINE_METHODS.get(property);
      if (!loaded && value !== undefined && threshold !== undefined && value < threshold) return quiet;
      const target = load();
      loaded = true;
      const member: unknown = Reflect.get(target, property);
      return typeof member === 'function' ? member.bind(target) : member;
    },
  });
}

/** A line below the level before pino is loaded: nothing to write. */
function quiet(): void {}
