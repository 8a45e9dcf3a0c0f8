import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Config, DEFAULT_CONFIG, parseConfig, readConfigJson } from '../core/config.ts';
import { CONFIG_KEYS, type ConfigKey, isConfigKey } from '../core/config-rules.ts';
import { TransferError } from '../core/errors.ts';
import { guardHome } from '../core/home-guard.ts';

export { CONFIG_KEYS, type ConfigKey, isConfigKey };

export function assertConfigKey(key: string): ConfigKey {
  if (isConfigKey(key)) return key;
  throw new TransferError(
    'BT_ERR_CONFIG_INVALID',
    `unknown config key "${key}"; the keys are ${CONFIG_KEYS.join(', ')}`,
  );
}

/** The keys config.json sets (validated, so an unknown key or bad value is an error naming it, docs/api/config.md). */
export function readConfigFile(path: string): Partial<Config> {
  const raw = readConfigJson(path);
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new TransferError('BT_ERR_CONFIG_INVALID', `config: ${path} must hold a JSON object`);
  }
  parseConfig(raw);
  return raw as Partial<Config>;
}

/**
 * A command-line string as the value of `key`: numbers and lists are parsed (a list is a JSON array or
 * comma-separated), enums and strings are taken as typed; parseConfig then checks the result.
 */
export function parseConfigValue(key: ConfigKey, text: string): Config[ConfigKey] {
  const example = DEFAULT_CONFIG[key];
  if (typeof example === 'number') {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value)) {
      throw new TransferError(
        'BT_ERR_CONFIG_INVALID',
        `config: "${key}" must be a number, got ${JSON.stringify(text)}`,
      );
    }
    return value;
  }
  if (Array.isArray(example)) {
    if (text.trim().startsWith('[')) {
      try {
        return JSON.parse(text) as string[];
      } catch (error) {
        throw new TransferError('BT_ERR_CONFIG_INVALID', `config: "${key}" is not a valid JSON array`, {
          cause: error,
        });
      }
    }
    return text
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0);
  }
  return text as Config[ConfigKey];
}

/** Validates the whole file with the new value, then replaces it atomically (temp file + rename). */
export function writeConfigValue(path: string, key: ConfigKey, value: Config[ConfigKey]): Config {
  const next = { ...readConfigFile(path), [key]: value };
  const effective = parseConfig(next);
  guardHome(dirname(path));
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    // wx (O_EXCL): a link planted at the temp name is not followed. rename replaces a link at config.json
    // itself, never its target.
    writeFileSync(temp, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    // rename() is atomic: a host reading config.json sees the old file or the new one, never half of one.
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new TransferError('BT_ERR_IO', `cannot write ${path}: ${(error as Error).message}`, { cause: error });
  }
  return effective;
}

export function formatConfigValue(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value);
}
