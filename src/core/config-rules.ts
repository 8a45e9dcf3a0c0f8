import { TransferError } from './errors.ts';

/**
 * The keys of `$BGTRANSFER_HOME/config.json`, each with the rule its value must meet and the description
 * `bgtransfer --help` prints: this table is the only list of keys. Checked by hand (checkConfig) so that
 * neither the host nor an in-process engine loads a schema library to read a file of a few hundred bytes;
 * `config-rules.test.ts` holds the check to the verdicts of the zod schema it replaced.
 */
export interface Config {
  maxConcurrentTransfers: number;
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  stallTimeoutMs: number;
  maxAttempts: number;
  retryBaseDelayMs: number;
  metered: 'auto' | 'yes' | 'no';
  maxRedirects: number;
  /** 'auto', 'none', or an http(s) proxy URL. */
  proxy: string;
  extraCaCertificates: string[];
  maxOperationsPerApp: number;
  maxTransferGroupsPerApp: number;
  progressIntervalMs: number;
  logMaxBytes: number;
  hostIdleExitMs: number;
}

export type ConfigKey = keyof Config;

type Rule =
  | { kind: 'integer'; min: number; max?: number }
  | { kind: 'choice'; values: readonly string[] }
  | { kind: 'proxy' }
  | { kind: 'files' };

export const CONFIG_RULES: { readonly [K in ConfigKey]: { readonly rule: Rule; readonly description: string } } = {
  maxConcurrentTransfers: { rule: { kind: 'integer', min: 1, max: 256 }, description: 'How many uploads run at once.' },
  connectTimeoutMs: {
    rule: { kind: 'integer', min: 1 },
    description: 'Milliseconds a connection may take to open before the attempt fails.',
  },
  responseTimeoutMs: {
    rule: { kind: 'integer', min: 1 },
    description: 'Milliseconds to wait for the response after the body was sent.',
  },
  stallTimeoutMs: {
    rule: { kind: 'integer', min: 1 },
    description: 'Milliseconds without a body byte accepted before the request is aborted, then retried or resumed.',
  },
  maxAttempts: {
    rule: { kind: 'integer', min: 1, max: 100 },
    description: 'Attempts per upload before it fails; counted anew when the server acknowledged new bytes.',
  },
  retryBaseDelayMs: {
    rule: { kind: 'integer', min: 0 },
    description: 'Milliseconds before the first retry; doubles per attempt, with jitter.',
  },
  metered: {
    rule: { kind: 'choice', values: ['auto', 'yes', 'no'] },
    description: 'Whether the network is metered: auto (asked from NetworkManager), yes or no.',
  },
  maxRedirects: { rule: { kind: 'integer', min: 0, max: 50 }, description: '307/308 redirects followed per request.' },
  proxy: {
    rule: { kind: 'proxy' },
    description: 'auto (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), none, or a proxy URL http(s)://[user:password@]host:port.',
  },
  extraCaCertificates: {
    rule: { kind: 'files' },
    description:
      'PEM files of CA certificates trusted besides the system CAs (to `bgtransfer config`: comma-separated).',
  },
  maxOperationsPerApp: { rule: { kind: 'integer', min: 1 }, description: 'Unfinished uploads one app may have.' },
  maxTransferGroupsPerApp: { rule: { kind: 'integer', min: 1 }, description: 'Transfer groups one app may create.' },
  progressIntervalMs: {
    rule: { kind: 'integer', min: 10, max: 60000 },
    description: 'Milliseconds between progress reports to attached apps, at least.',
  },
  logMaxBytes: {
    rule: { kind: 'integer', min: 1024 },
    description: 'host.log is rotated (to host.log.1, keeping 3) once it would grow past this many bytes.',
  },
  hostIdleExitMs: {
    rule: { kind: 'integer', min: 0 },
    description: 'An idle host (nothing to do, no client connected) exits after this many milliseconds; 0 = never.',
  },
};

export const CONFIG_KEYS = Object.keys(CONFIG_RULES) as readonly ConfigKey[];

export function isConfigKey(key: string): key is ConfigKey {
  return Object.hasOwn(CONFIG_RULES, key);
}

function invalid(message: string): TransferError {
  return new TransferError('BT_ERR_CONFIG_INVALID', `config: ${message}`);
}

/**
 * Checks the keys a config object sets (each optional) and returns them; throws BT_ERR_CONFIG_INVALID
 * naming the first key that is unknown or whose value breaks its rule. A proxy URL comes back trimmed,
 * without tabs and line breaks, as the URL parser reads it.
 */
export function checkConfig(value: Record<string, unknown>): Partial<Config> {
  const checked: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (!isConfigKey(key)) throw invalid(`"${key}" is not a setting; the settings are ${CONFIG_KEYS.join(', ')}`);
    checked[key] = checkValue(key, CONFIG_RULES[key].rule, value[key]);
  }
  // Every key was checked against its rule just above.
  return checked as Partial<Config>;
}

function checkValue(key: string, rule: Rule, value: unknown): unknown {
  switch (rule.kind) {
    case 'integer': {
      const inRange =
        Number.isSafeInteger(value) &&
        (value as number) >= rule.min &&
        (rule.max === undefined || (value as number) <= rule.max);
      if (!inRange) {
        const range = rule.max === undefined ? `${rule.min} or more` : `from ${rule.min} to ${rule.max}`;
        throw invalid(`"${key}": expected an integer ${range}, got ${describe(value)}`);
      }
      return value;
    }
    case 'choice':
      if (typeof value !== 'string' || !rule.values.includes(value)) {
        throw invalid(`"${key}": expected one of ${rule.values.join(', ')}, got ${describe(value)}`);
      }
      return value;
    case 'proxy':
      return proxyValue(key, value);
    case 'files': {
      const valid = Array.isArray(value) && value.every((item) => typeof item === 'string' && item.length > 0);
      if (!valid) throw invalid(`"${key}": expected a list of file paths`);
      return value;
    }
  }
}

/** What a bad value was, without echoing it: a proxy URL may carry a password. */
function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (typeof value === 'string') return value.length > 40 ? 'a long string' : JSON.stringify(value);
  return Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'an object' : typeof value;
}

const TAB_OR_LINE_BREAK = /[\t\n\r]/g;

/** 'auto', 'none', or an absolute http(s) URL with `//` after the scheme (not `http:host`). */
function proxyValue(key: string, value: unknown): string {
  if (value === 'auto' || value === 'none') return value;
  const bad = invalid(`"${key}": expected auto, none or a proxy URL http(s)://[user:password@]host:port`);
  if (typeof value !== 'string') throw bad;
  const trimmed = value.trim();
  if (!/^https?:\/\//i.test(trimmed)) throw bad;
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw bad;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad;
  return trimmed.replace(TAB_OR_LINE_BREAK, '');
}
