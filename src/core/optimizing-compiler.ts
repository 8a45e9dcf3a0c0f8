import { setFlagsFromString } from 'node:v8';
import { startedWithFlag } from './started-flags.ts';

/**
 * V8's optimising compiler (TurboFan) held off while the transfer host starts, and let go once it
 * listens. Start-up code runs once, yet Node's module loader walks every character of every module path
 * it resolves (`normalizeString`), and with the host's few dozen CommonJS modules that made V8 optimise
 * it during start-up alone. Running TurboFan once touches about 3.5 MiB more of the node binary's code
 * and 1 MiB of memory, which a host that then only waits keeps: 58.7 MiB idle instead of 54.4
 * (docs/performance.md, "Host and library weight"). How much path work tips V8 over depends on how long
 * the install path is, so a larger interrupt budget only helped for short ones; holding the compiler
 * does not depend on it. Code that becomes hot later (every upload's) is optimised as usual: V8 reads the
 * flag at each decision, and a function that was hot while it was off is optimised once it is on.
 *
 * A process started with the compiler off, or without a JIT, is left as it was.
 */

const STARTED_WITHOUT = ['--no-turbofan', '--no-opt', '--jitless', '--max-opt=0', '--max-opt=1', '--max-opt=2'];
const leftAlone = startedWithFlag(STARTED_WITHOUT, true);
let held = false;

/** Until releaseOptimizingCompiler: no function is optimised by TurboFan. */
export function holdOptimizingCompiler(): void {
  if (leftAlone || held) return;
  setFlagsFromString('--no-turbofan');
  held = true;
}

/** Start-up is over: V8 optimises hot code again. Idempotent; nothing to do if nothing was held. */
export function releaseOptimizingCompiler(): void {
  if (!held) return;
  held = false;
  setFlagsFromString('--turbofan');
}
