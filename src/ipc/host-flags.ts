import { setFlagsFromString } from 'node:v8';
import { noteLiftoffOnlyProcessWide } from '../core/liftoff-only.ts';
import { holdOptimizingCompiler } from '../core/optimizing-compiler.ts';
import { enableYoungCollections } from '../core/young-collection.ts';
import { noteYoungGenerationFixed } from '../core/young-generation.ts';

/**
 * The V8 flags the transfer host runs with. The host is our own long-lived process, so it may trade a
 * little CPU for memory where an app's process may not (these flags are process-wide):
 *
 * - `--max-semi-space-size=1` (MiB): V8 grows its young generation up to 16 MiB per semi-space while
 *   a program allocates fast, and keeps it; a host's allocations are small and short-lived. Measured:
 *   6 MiB less at idle, 25 MiB less at the peak of 1,000 small uploads, for at most 10% more host CPU
 *   on those (within the noise of a loaded machine) and none on a big upload.
 * - `--liftoff-only`: undici's HTTP parser is WebAssembly; V8 recompiles hot WebAssembly with its
 *   optimising compiler, a 20–35 MiB spike of memory for no measurable speed (the parser is not where
 *   the time goes).
 * - `--heap-growing-percent=20`: after each full collection V8 lets the old generation grow to up to
 *   four times what survived before the next one, and keeps the pages it grew. Thousands of uploads in
 *   flight promote much short-lived garbage through the 1 MiB young generation, so during 10,000 small
 *   uploads the host's old generation reached 88 MiB around 20–25 MiB live (VmHWM 169 MiB). With the
 *   limit at 1.2 times what survived (V8 adds at least 8 MiB anyway), VmHWM stayed about 100 MiB.
 * - `--no-concurrent-array-buffer-sweeping`: a download's body arrives in 64 KiB socket buffers, each
 *   an ArrayBuffer outside V8's heap. Swept on a helper thread, a dead buffer still counts as external
 *   memory until that thread gets to it; the helper threads spent 0.6–1.2 s of CPU per GiB downloaded,
 *   and turning off concurrent marking instead had most of the same effect, so as we read it the
 *   lagging count kept starting marks of the whole heap. Swept in the young collection itself,
 *   the count falls at once: the host's CPU per GiB about halved, with no change seen for small
 *   uploads, the big PUT or memory.
 *
 * docs/performance.md ("Host and library weight") has the measurements behind each.
 */
export const HOST_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=1',
  '--liftoff-only',
  '--heap-growing-percent=20',
  '--no-concurrent-array-buffer-sweeping',
];

/**
 * What each command-line flag is at run time, for a host started without them (`bgtransfer host` by
 * hand, an older systemd unit). The semi-space limit is fixed when the heap is made, so at run time the
 * young generation is kept from growing instead; the WebAssembly flag is read at each compile, and
 * undici's parser is compiled at the first transfer, after this runs; the growing factor is read at
 * each full collection; the sweeping flag at each young collection.
 */
const RUNTIME_EQUIVALENTS: Readonly<Record<string, string>> = {
  '--max-semi-space-size=1': '--semi-space-growth-factor=1',
  '--liftoff-only': '--liftoff-only',
  '--heap-growing-percent=20': '--heap-growing-percent=20',
  '--no-concurrent-array-buffer-sweeping': '--no-concurrent-array-buffer-sweeping',
};

let applied: string[] | undefined;

/**
 * Sets, at run time, each host flag this process was not started with; idempotent. Call it before the
 * host's modules load. Returns the flags in force: from the command line and set here.
 */
export function applyHostFlags(execArgv: readonly string[] = process.execArgv): string[] {
  if (applied !== undefined) return applied;
  applied = [];
  for (const flag of HOST_NODE_FLAGS) {
    if (execArgv.includes(flag)) {
      applied.push(flag);
      continue;
    }
    const runtime = RUNTIME_EQUIVALENTS[flag] ?? flag;
    setFlagsFromString(runtime);
    applied.push(runtime);
  }
  // The parser's own Liftoff-only compile (core/liftoff-only.ts) must not switch the flag off again.
  if (applied.includes('--liftoff-only')) noteLiftoffOnlyProcessWide();
  // Nor may an in-process engine's open (core/young-generation.ts) let the young generation grow again.
  if (applied.includes('--semi-space-growth-factor=1')) noteYoungGenerationFixed();
  // Not a flag but the same kind of choice: big response bodies pace young collections (why: there).
  enableYoungCollections();
  // Nor is this: TurboFan waits until the host listens (core/optimizing-compiler.ts, host/host-main.ts).
  holdOptimizingCompiler();
  return applied;
}

/** The host flags in force in this process (none set at run time when applyHostFlags was not called). */
export function hostFlagsInForce(execArgv: readonly string[] = process.execArgv): string[] {
  return applied ?? HOST_NODE_FLAGS.filter((flag) => execArgv.includes(flag));
}
