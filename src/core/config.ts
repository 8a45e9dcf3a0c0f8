import { type Config, checkConfig } from './config-rules.ts';
import { TransferError } from './errors.ts';
import { readBoundedFile } from './safe-read.ts';

/**
 * `$BGTRANSFER_HOME/config.json`. Every key is optional; missing keys take the defaults below. An
 * unknown key or a bad value is a BT_ERR_CONFIG_INVALID naming the key. The keys, their rules and the
 * descriptions `bgtransfer --help` prints are in config-rules.ts.
 */

export const DEFAULT_CONFIG: Readonly<Config> = Object.freeze({
  maxConcurrentTransfers: 4,
  connectTimeoutMs: 300_000,
  responseTimeoutMs: 120_000,
  stallTimeoutMs: 60_000,
  maxAttempts: 3,
  retryBaseDelayMs: 1_000,
  metered: 'auto',
  maxRedirects: 10,
  extraCaCertificates: [],
  proxy: 'auto',
  maxOperationsPerApp: 10_000,
  maxTransferGroupsPerApp: 50,
  progressIntervalMs: 100,
  logMaxBytes: 5 * 1024 * 1024,
  hostIdleExitMs: 600_000,
});

export type { Config };

/** Validates a partial config object; the error names the first offending key. */
export function parseConfig(value: unknown): Config {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TransferError('BT_ERR_CONFIG_INVALID', 'config: expected an object of settings');
  }
  return { ...DEFAULT_CONFIG, ...checkConfig(value as Record<string, unknown>) };
}

/** config.json is a few hundred bytes; the bound only keeps a wrong file from being read whole. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * config.json's parsed JSON, or undefined when there is none. What is not a regular file of at most
 * MAX_CONFIG_BYTES (a FIFO, a link to /dev/zero) is refused unread (core/safe-read.ts).
 */
export function readConfigJson(path: string): unknown {
  const bytes = readBoundedFile(path, { maxBytes: MAX_CONFIG_BYTES, code: 'BT_ERR_CONFIG_INVALID', what: 'config' });
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new TransferError('BT_ERR_CONFIG_INVALID', `config: ${path} is not valid JSON; fix or remove it`, {
      cause: error,
    });
  }
}

/** Reads config.json (absent → defaults). */
export function loadConfig(path: string): Config {
  const parsed = readConfigJson(path);
  if (parsed === undefined) return { ...DEFAULT_CONFIG };
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new TransferError('BT_ERR_CONFIG_INVALID', `config: ${path} must hold a JSON object`);
  }
  return parseConfig(parsed);
}
