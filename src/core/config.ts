import { z } from 'zod';
import { TransferError } from './errors.ts';
import { readBoundedFile } from './safe-read.ts';

/**
 * `$BGTRANSFER_HOME/config.json` (spec/contract.md §4). Every key is optional; missing keys take the
 * defaults below. An unknown key or a bad value is a BT_ERR_CONFIG_INVALID naming the key.
 */
export const configSchema = z
  .object({
    /** How many transfers run at once (R30 leaves it undocumented in Windows). @default 4 */
    maxConcurrentTransfers: z.number().int().min(1).max(256),
    /** R47: connection establishment is aborted after 5 minutes. @default 300000 */
    connectTimeoutMs: z.number().int().min(1),
    /** R48: no response within 2 minutes after the request is sent → aborted. @default 120000 */
    responseTimeoutMs: z.number().int().min(1),
    /** No bytes accepted for this long aborts the request, which is retried or resumed. @default 60000 */
    stallTimeoutMs: z.number().int().min(1),
    /** R49: attempts per upload before it fails (reset when the server acknowledged new bytes). @default 3 */
    maxAttempts: z.number().int().min(1).max(100),
    /** First retry delay; doubles per attempt, with jitter. @default 1000 */
    retryBaseDelayMs: z.number().int().min(0),
    /** Whether the network is metered: read from the system, or forced. @default "auto" */
    metered: z.enum(['auto', 'yes', 'no']),
    /** Redirects (307/308) followed per request. @default 10 */
    maxRedirects: z.number().int().min(0).max(50),
    /** HTTP(S) proxy: "auto" (HTTPS_PROXY/HTTP_PROXY/NO_PROXY), "none", or a proxy URL. @default "auto" */
    proxy: z.union([z.enum(['auto', 'none']), z.url({ protocol: /^https?$/ })]),
    /** PEM files of extra CA certificates trusted for HTTPS, besides the system CAs. @default [] */
    extraCaCertificates: z.array(z.string().min(1)),
    /** R29: live (unfinished) operations one app may have; Windows advises 200. @default 10000 */
    maxOperationsPerApp: z.number().int().min(1),
    /** R28: transfer groups one app may create. @default 50 */
    maxTransferGroupsPerApp: z.number().int().min(1),
    /** How often progress is reported to attached apps, at most. @default 100 */
    progressIntervalMs: z.number().int().min(10).max(60000),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;

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
});

/** Validates a partial config object; the error names the first offending key. */
export function parseConfig(value: unknown): Config {
  const result = configSchema.partial().safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = issue?.path.join('.') || (issue && 'keys' in issue ? String(issue.keys) : '');
    throw new TransferError(
      'BT_ERR_CONFIG_INVALID',
      `config: ${key ? `"${key}": ` : ''}${issue?.message ?? 'invalid'}`,
    );
  }
  return { ...DEFAULT_CONFIG, ...result.data };
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
