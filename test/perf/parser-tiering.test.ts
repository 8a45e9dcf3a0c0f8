import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { spawnNode } from '../helpers/process-tools.ts';

/**
 * undici's HTTP parser is never recompiled by TurboFan, in an app's process too (no flag on the app's
 * command line), while the app's own WebAssembly still is (src/core/liftoff-only.ts). On the BUILT
 * package (npm run build first; npm test does it): a TypeScript loader would bring WebAssembly of its
 * own. V8's `--trace-wasm-compilation-times` prints one line per compiled function, naming the tier.
 *
 * Without the Liftoff-only compile the parser's hot functions are recompiled after about a thousand
 * responses (a 25–30 MiB peak of memory in a 1 GiB upload: docs/performance.md).
 */

const SCRIPT = fileURLToPath(new URL('../scripts/parser-tiering.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Compile {
  module: string;
  func: number;
  tier: string;
}

async function compiles(mode: 'parser' | 'own' | 'host'): Promise<Compile[]> {
  const child = spawnNode(['--trace-wasm-compilation-times', SCRIPT, mode], { typescript: false, cwd: ROOT });
  const exit = await child.exited;
  const output = [...child.stdoutLines, ...child.stderrLines];
  assert.equal(exit.code, 0, output.slice(-20).join('\n'));
  assert.equal(child.stdoutLines.at(-1), 'done');
  const found: Compile[] = [];
  for (const line of child.stdoutLines) {
    const match = /^Compiled function (0x[0-9a-f]+)#(\d+) using (\w+)/.exec(line);
    if (match?.[1] && match[2] && match[3]) found.push({ module: match[1], func: Number(match[2]), tier: match[3] });
  }
  return found;
}

test("undici's parser stays on Liftoff in an app's process", { timeout: 120_000 }, async () => {
  const found = await compiles('parser');
  assert.ok(
    found.some((compile) => compile.tier === 'Liftoff'),
    `the parser was compiled: ${JSON.stringify(found.slice(0, 3))}`,
  );
  const optimised = found.filter((compile) => compile.tier !== 'Liftoff');
  assert.deepEqual(optimised, [], 'no function of the parser is recompiled by TurboFan');
});

test("the app's own WebAssembly still tiers up after the parser was compiled", { timeout: 120_000 }, async () => {
  const found = await compiles('own');
  const optimised = found.filter((compile) => compile.tier === 'TurboFan');
  // The app's module has one function (#0); the parser's functions come after its imports.
  assert.ok(optimised.length > 0, "the app's hot function is recompiled by TurboFan");
  assert.deepEqual(
    optimised.map((compile) => compile.func),
    optimised.map(() => 0),
    'only the app function, none of the parser',
  );
});

test('in the transfer host (Liftoff only for everything) nothing tiers up', { timeout: 120_000 }, async () => {
  const found = await compiles('host');
  assert.ok(found.length > 0);
  assert.deepEqual(
    found.filter((compile) => compile.tier !== 'Liftoff'),
    [],
    'the host flag stays on after the parser',
  );
});
