import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { spawnNode } from '../helpers/process-tools.ts';

/**
 * The transfer host holds V8's optimising compiler while it starts and lets it go once it listens
 * (core/optimizing-compiler.ts): nothing is optimised while it is held, and hot code is optimised as
 * usual after, also a function that was already hot while it was held. Read from V8's own trace.
 */

const PROBE = fileURLToPath(new URL('../scripts/optimizing-compiler-probe.ts', import.meta.url));

test('nothing is optimised while the compiler is held; hot code is after it is let go', {
  timeout: 60_000,
}, async () => {
  const child = spawnNode(['--trace-opt', PROBE]);
  const exit = await child.exited;
  assert.equal(exit.code, 0, child.stderrLines.join('\n'));
  const lines = child.stdoutLines;
  const held = lines.findIndex((line) => line.startsWith('held '));
  const released = lines.findIndex((line) => line.startsWith('released '));
  assert.ok(held >= 0 && released > held, lines.join('\n'));
  const optimised = (from: number, to: number, name: string): boolean =>
    lines
      .slice(from, to)
      .some((line) => line.includes('completed optimizing') && line.includes(`<JSFunction ${name} `));
  assert.equal(optimised(0, held, 'hot'), false, 'optimised while held');
  assert.ok(optimised(held, released, 'hot'), `hot was not optimised after the release:\n${lines.join('\n')}`);
  assert.ok(optimised(held, released, 'hotLater'), 'hotLater was not optimised after the release');
});
