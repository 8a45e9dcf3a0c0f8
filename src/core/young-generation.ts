import { nodeV8 } from './lazy-builtins.ts';
import { startedWithFlag } from './started-flags.ts';

/**
 * Keeping V8's young generation from growing while the in-process engine opens, without changing how
 * it grows for the rest of the app's process.
 *
 * Opening the engine loads some 280 modules and builds its store, config and schemas: nearly all of
 * it survives, and V8 answers survivors by doubling the young generation, up to 16 MiB of semi-space
 * (7 MiB of it resident), which it then keeps for the life of the process. The engine's own
 * allocations afterwards are small and short-lived and never need it. The transfer host starts with
 * `--max-semi-space-size=1` for the same reason (ipc/host-flags.ts), but an app's process is the app's:
 * so the growth factor is 1 only while the engine opens, and V8's default (2) again after.
 * docs/performance.md ("tus") has the measurements.
 *
 * A process started with its own semi-space flags (command line or NODE_OPTIONS) is left alone, and so
 * is one whose growth is held for good (the host, noteYoungGenerationFixed).
 */

const SEMI_SPACE_FLAGS = ['--max-semi-space-size', '--min-semi-space-size', '--semi-space-growth-factor'];
/** V8's default (`node --v8-options`): the young generation doubles each time it grows. */
const DEFAULT_GROWTH_FACTOR = 2;

const startedWithSemiSpaceFlags = startedWithFlag(SEMI_SPACE_FLAGS);
let fixed = false;
let holders = 0;

/** The process keeps its young generation small for good (the host's run-time flags): never undo it. */
export function noteYoungGenerationFixed(): void {
  fixed = true;
}

/** Runs `work` with the young generation's growth held (nested and concurrent calls share one hold). */
export async function withYoungGenerationHeld<T>(work: () => Promise<T>): Promise<T> {
  if (fixed || startedWithSemiSpaceFlags) return work();
  if (holders === 0) nodeV8().setFlagsFromString('--semi-space-growth-factor=1');
  holders += 1;
  try {
    return await work();
  } finally {
    holders -= 1;
    if (holders === 0 && !fixed) nodeV8().setFlagsFromString(`--semi-space-growth-factor=${DEFAULT_GROWTH_FACTOR}`);
  }
}
