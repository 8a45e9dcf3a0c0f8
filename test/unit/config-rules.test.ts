import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { parseConfig } from '../../src/core/config.ts';
import { CONFIG_KEYS, CONFIG_RULES, checkConfig } from '../../src/core/config-rules.ts';
import { TransferError } from '../../src/core/errors.ts';

/**
 * config.json is checked by hand (core/config-rules.ts). The zod schema below is the one it replaced;
 * the two must agree on every value: the same verdict, and the same settings when valid (a proxy URL
 * trimmed as the URL parser reads it).
 */
const reference = z
  .object({
    maxConcurrentTransfers: z.number().int().min(1).max(256),
    connectTimeoutMs: z.number().int().min(1),
    responseTimeoutMs: z.number().int().min(1),
    stallTimeoutMs: z.number().int().min(1),
    maxAttempts: z.number().int().min(1).max(100),
    retryBaseDelayMs: z.number().int().min(0),
    metered: z.enum(['auto', 'yes', 'no']),
    maxRedirects: z.number().int().min(0).max(50),
    proxy: z.union([z.enum(['auto', 'none']), z.url({ protocol: /^https?$/ })]),
    extraCaCertificates: z.array(z.string().min(1)),
    maxOperationsPerApp: z.number().int().min(1),
    maxTransferGroupsPerApp: z.number().int().min(1),
    progressIntervalMs: z.number().int().min(10).max(60000),
    logMaxBytes: z.number().int().min(1024),
    hostIdleExitMs: z.number().int().min(0),
  })
  .strict()
  .partial();

const VALUES: unknown[] = [
  null,
  true,
  '',
  'x',
  'auto',
  'none',
  'yes',
  'no',
  -1,
  0,
  1,
  1.5,
  9,
  10,
  50,
  51,
  100,
  101,
  256,
  257,
  1023,
  1024,
  60000,
  60001,
  2 ** 53,
  Number.POSITIVE_INFINITY,
  Number.NaN,
  '5',
  [],
  [''],
  ['/etc/ca.pem'],
  ['/etc/ca.pem', 3],
  {},
  'http://proxy:3128',
  'https://user:secret@proxy.example:8443/',
  '  http://proxy:3128\t ',
  'http://pro\nxy:3128',
  'HTTP://PROXY:3128',
  'http:proxy:3128',
  'http:/proxy',
  'socks5://proxy:1080',
  'ftp://proxy',
  'http://',
  'http://[::1]:3128',
  'http://exa mple',
  'proxy:3128',
];

function handVerdict(value: Record<string, unknown>): { ok: true; data: unknown } | { ok: false } {
  try {
    return { ok: true, data: checkConfig(value) };
  } catch (error) {
    assert.ok(error instanceof TransferError && error.code === 'BT_ERR_CONFIG_INVALID', String(error));
    return { ok: false };
  }
}

describe('config.json is checked by hand with the verdicts of the zod schema it replaced', () => {
  it('the rules name the same keys as the schema', () => {
    assert.deepEqual([...CONFIG_KEYS].sort(), Object.keys(reference.shape).sort());
    for (const key of CONFIG_KEYS) assert.ok(CONFIG_RULES[key].description.length > 10, key);
  });

  it('agrees on every key with every value', () => {
    let accepted = 0;
    for (const key of CONFIG_KEYS) {
      for (const value of VALUES) {
        const input = { [key]: value };
        const zod = reference.safeParse(input);
        const hand = handVerdict(input);
        assert.equal(hand.ok, zod.success, `${key} = ${JSON.stringify(value)}`);
        if (hand.ok && zod.success) {
          assert.deepStrictEqual(hand.data, zod.data, `${key} = ${JSON.stringify(value)}`);
          accepted++;
        }
      }
    }
    assert.ok(accepted > 50, `accepted ${accepted}`);
  });

  it('agrees on whole files: empty, several keys, an unknown key', () => {
    const files: Record<string, unknown>[] = [
      {},
      { maxConcurrentTransfers: 16, metered: 'no', proxy: 'none', extraCaCertificates: [] },
      { maxAtempts: 3 },
      { maxAttempts: 3, __proto__x: 1 },
      JSON.parse('{"__proto__": {"maxAttempts": 1}}') as Record<string, unknown>,
      JSON.parse('{"maxAttempts": 2, "__proto__": 5}') as Record<string, unknown>,
    ];
    for (const file of files) {
      const zod = reference.safeParse(file);
      const hand = handVerdict(file);
      assert.equal(hand.ok, zod.success, JSON.stringify(file));
      if (hand.ok && zod.success) assert.deepStrictEqual(hand.data, zod.data);
    }
  });

  it('names the key, and never echoes a proxy URL with its password', () => {
    assert.throws(
      () => parseConfig({ maxAtempts: 3 }),
      /"maxAtempts" is not a setting; the settings are maxConcurrentTransfers,/,
    );
    assert.throws(
      () => parseConfig({ maxAttempts: 101 }),
      /config: "maxAttempts": expected an integer from 1 to 100, got 101/,
    );
    assert.throws(
      () => parseConfig({ proxy: 'socks5://user:hunter2@proxy:1080' }),
      (error: unknown) =>
        error instanceof TransferError && /"proxy"/.test(error.message) && !error.message.includes('hunter2'),
    );
    assert.equal(parseConfig({ proxy: ' http://proxy:3128 ' }).proxy, 'http://proxy:3128');
    assert.equal(parseConfig({}).maxConcurrentTransfers, 4);
  });
});
