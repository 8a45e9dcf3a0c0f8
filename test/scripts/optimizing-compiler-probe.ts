/**
 * Prints `held`, runs a hot function, releases the optimising compiler, prints `released`, runs hot
 * functions again. Run under `node --trace-opt` by test/integration/optimizing-compiler.test.ts, which
 * reads where V8's "completed optimizing" lines fall.
 */
import { holdOptimizingCompiler, releaseOptimizingCompiler } from '../../src/core/optimizing-compiler.ts';

function hot(count: number): number {
  let sum = 0;
  for (let index = 0; index < count; index++) sum += (index * 7) % 13;
  return sum;
}

function hotLater(count: number): number {
  let sum = 0;
  for (let index = 0; index < count; index++) sum += (index * 3) % 11;
  return sum;
}

holdOptimizingCompiler();
let total = 0;
for (let round = 0; round < 300; round++) total += hot(10_000);
process.stdout.write(`held ${total}\n`);
releaseOptimizingCompiler();
for (let round = 0; round < 300; round++) total += hot(10_000) + hotLater(10_000);
process.stdout.write(`released ${total}\n`);
