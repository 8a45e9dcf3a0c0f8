import { createRequire } from 'node:module';
import type { z as Zod } from 'zod';
import { TransferError } from './errors.ts';
import { readBoundedFile } from './safe-read.ts';

/**
 * `$BGTRANSFER_HOME/config.json`. Every key is optional; missing keys take the defaults below. An
 * unknown key or a bad value is a BT_ERR_CONFIG_INVALID naming the key. Each key's description is the
 * one `bgtransfer --help` prints: this schema is the only list of keys.
 */
function buildConfigSchema(z: typeof Zod) {
  return z
    .object({
      maxConcurrentTransfers: z.number().int().min(1).max(256).describe('How many uploads run at once.'),
      connectTimeoutMs: z
        .number()
        .int()
        .min(1)
        .describe('Milliseconds a connection may take to open before the attempt fails.'),
      responseTimeoutMs: z
        .number()
        .int()
        .min(1)
        .describe('Milliseconds to wait for the response after the body was sent.'),
      stallTimeoutMs: z
        .number()
        .int()
        .min(1)
        .describe('Milliseconds without a body byte accepted before the request is aborted, then retried or resumed.'),
      maxAttempts: z
        .number()
        .int()
        .min(1)
        .max(100)
        .describe('Attempts per upload before it fails; counted anew when the server acknowledged new bytes.'),
      retryBaseDelayMs: z
        .number()
        .int()
        .min(0)
        .describe('Milliseconds before the first retry; doubles per attempt, with jitter.'),
      metered: z
        .enum(['auto', 'yes', 'no'])
        .describe('Whether the network is metered: auto (asked from NetworkManager), yes or no.'),
      maxRedirects: z.number().int().min(0).max(50).describe('307/308 redirects followed per request.'),
      proxy: z
        .union([z.enum(['auto', 'none']), z.url({ protocol: /^https?$/ })])
        .describe(
          'auto (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), none, or a proxy URL http(s)://[user:password@]host:port.',
        ),
      extraCaCertificates: z
        .array(z.string().min(1))
        .describe(
          'PEM files of CA certificates trusted besides the system CAs (to `bgtransfer config`: comma-separated).',
        ),
      maxOperationsPerApp: z.number().int().min(1).describe('Unfinished uploads one app may have.'),
      maxTransferGroupsPerApp: z.number().int().min(1).describe('Transfer groups one app may create.'),
      progressIntervalMs: z
        .number()
        .int()
        .min(10)
        .max(60000)
        .describe('Milliseconds between progress reports to attached apps, at least.'),
      logMaxBytes: z
        .number()
        .int()
        .min(1024)
        .describe('host.log is rotated (to host.log.1, keeping 3) once it would grow past this many bytes.'),
      hostIdleExitMs: z
        .number()
        .int()
        .min(0)
        .describe('An idle host (nothing to do, no client connected) exits after this many milliseconds; 0 = never.'),
    })
    .strict();
}

let builtSchema: ReturnType<typeof buildConfigSchema> | undefined;

/**
 * The schema, built at first use: a home without config.json (the usual case) never needs it, and an
 * app running the engine in its own process then loads no zod for its config. zod comes through
 * require (sync, as loadConfig is) and only here, so this schema is never mixed with the ES module copy.
 */
export function configSchema(): ReturnType<typeof buildConfigSchema> {
  builtSchema ??= buildConfigSchema((createRequire(import.meta.url)('zod') as { z: typeof Zod }).z);
  return builtSchema;
}

export type Config = Zod.infer<ReturnType<typeof buildConfigSchema>>;

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

/** Validates a partial config object; the error names the first offending key. */
export function parseConfig(value: unknown): Config {
  const result = configSchema().partial().safeParse(value);
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
