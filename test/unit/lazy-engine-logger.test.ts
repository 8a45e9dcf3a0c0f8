import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import type { Logger } from 'pino';
import { createLazyEngineLogger } from '../../src/core/lazy-logger.ts';

/** A stand-in for pino that records each line and how often it was made. */
function recorder(): { load: (name: string, level: string) => Logger; loads: string[][]; lines: unknown[][] } {
  const loads: string[][] = [];
  const lines: unknown[][] = [];
  const line =
    (method: string) =>
    (...args: unknown[]): void => {
      lines.push([method, ...args]);
    };
  const fake = {
    level: 'warn',
    debug: line('debug'),
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
    child: () => fake,
  };
  return {
    loads,
    lines,
    load: (name, level) => {
      loads.push([name, level]);
      // The stand-in has the part of a pino Logger these tests touch.
      return fake as unknown as Logger;
    },
  };
}

test('lazy engine logger: lines below the level load nothing; the first line that passes loads pino once and is written', () => {
  const { load, loads, lines } = recorder();
  const log = createLazyEngineLogger('bgtransfer-engine', {}, load);
  log.debug({ guid: 'g' }, 'queued');
  log.info('network: assumed connected');
  assert.equal(loads.length, 0, 'no line passed the default level (warn)');
  log.warn({ guid: 'g' }, 'retrying');
  log.error({ code: 'BT_ERR_X' }, 'failed');
  log.info('still below the level');
  assert.deepEqual(loads, [['bgtransfer-engine', 'warn']]);
  assert.deepEqual(lines, [
    ['warn', { guid: 'g' }, 'retrying'],
    ['error', { code: 'BT_ERR_X' }, 'failed'],
    ['info', 'still below the level'],
  ]);
});

test('lazy engine logger: BGTRANSFER_LOG_LEVEL sets the level, and anything but a level method is pino’s own', () => {
  const { load, loads, lines } = recorder();
  const log = createLazyEngineLogger('bgtransfer-engine', { BGTRANSFER_LOG_LEVEL: 'debug' }, load);
  assert.equal(loads.length, 0);
  log.debug('queued');
  assert.deepEqual(loads, [['bgtransfer-engine', 'debug']]);
  assert.deepEqual(lines, [['debug', 'queued']]);

  const other = recorder();
  const quiet = createLazyEngineLogger('bgtransfer-engine', {}, other.load);
  assert.equal(quiet.level, 'warn');
  assert.equal(other.loads.length, 1, 'reading `level` loads pino');
});

test('lazy engine logger: an unknown level is refused at once, as pino refuses it', () => {
  assert.throws(() => createLazyEngineLogger('bgtransfer-engine', { BGTRANSFER_LOG_LEVEL: 'loud' }), /loud/);
});

test('lazy engine logger: pino’s module is loaded by the first line that passes the level, not before', () => {
  // A fresh process, so that no other test's import has loaded pino already.
  const script = `
    import { createRequire } from 'node:module';
    import { createLazyEngineLogger } from './src/core/lazy-logger.ts';
    const log = createLazyEngineLogger('bgtransfer-engine', {});
    log.info('below the level');
    const pino = createRequire(import.meta.url).resolve('pino');
    const loaded = () => Object.keys(createRequire(import.meta.url).cache).includes(pino);
    const before = loaded();
    log.warn('passes the level');
    console.log(JSON.stringify({ before, after: loaded() }));
  `;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: new URL('../..', import.meta.url),
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout.trim().split('\n').at(-1) ?? ''), { before: false, after: true });
  assert.match(run.stderr, /passes the level/);
});
