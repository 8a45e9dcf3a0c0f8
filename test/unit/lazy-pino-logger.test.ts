import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { spawnNode } from '../helpers/process-tools.ts';

/**
 * The engine's logger (core/logger.ts createLogger) loads pino only at a line that passes the level,
 * and then writes it as pino does, through the redaction. Each case runs in a child process, whose
 * stderr is the logger's destination and whose module cache says whether pino was loaded.
 */

const LOGGER = fileURLToPath(new URL('../../src/core/logger.ts', import.meta.url));

async function run(level: string | undefined, calls: string): Promise<{ loaded: boolean; stderr: string[] }> {
  const script = `
    import { createRequire } from 'node:module';
    const { createLogger } = await import(${JSON.stringify(LOGGER)});
    const log = createLogger('lazy-test');
    ${calls}
    const loaded = Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes('/node_modules/pino/'));
    console.log(JSON.stringify({ loaded }));
  `;
  const child = spawnNode(['--input-type=module', '--eval', script], {
    env: { BGTRANSFER_LOG_LEVEL: level },
  });
  const exit = await child.exited;
  assert.equal(exit.code, 0, child.stderrLines.join('\n'));
  const line = child.stdoutLines.find((candidate) => candidate.startsWith('{"loaded"'));
  assert.ok(line, child.stdoutLines.join('\n'));
  return { loaded: (JSON.parse(line) as { loaded: boolean }).loaded, stderr: [...child.stderrLines] };
}

test('lines below the level (warn by default) neither load pino nor write anything', { timeout: 60_000 }, async () => {
  const { loaded, stderr } = await run(
    undefined,
    // Returned from an async function too: a promise asks for its then.
    `log.debug({ a: 1 }, 'not shown'); log.info('not shown either'); await (async () => log)();`,
  );
  assert.equal(loaded, false);
  assert.deepEqual(stderr, []);
});

test('a line at the level loads pino and is written, redacted', { timeout: 60_000 }, async () => {
  const { loaded, stderr } = await run(undefined, `log.warn({ url: 'http://u:secret@h.example/x' }, 'careful');`);
  assert.equal(loaded, true);
  assert.equal(stderr.length, 1, stderr.join('\n'));
  const entry = JSON.parse(stderr[0] ?? '') as { level: number; name: string; msg: string; url: string };
  assert.equal(entry.level, 40);
  assert.equal(entry.name, 'lazy-test');
  assert.equal(entry.msg, 'careful');
  assert.equal(entry.url, 'http://***@h.example/x');
});

test('BGTRANSFER_LOG_LEVEL lowers the level; other members are the real logger', { timeout: 60_000 }, async () => {
  const { loaded, stderr } = await run('debug', `log.debug('shown'); log.child({ c: 1 }).info('child line');`);
  assert.equal(loaded, true);
  const entries = stderr.map((text) => JSON.parse(text) as { msg: string; c?: number });
  assert.deepEqual(
    entries.map((entry) => [entry.msg, entry.c]),
    [
      ['shown', undefined],
      ['child line', 1],
    ],
  );
});
