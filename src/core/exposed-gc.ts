import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** V8's `gc` function: a young-generation collection (`minor`) or a full one (`major`, the default). */
export type GcFunction = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

let cached: GcFunction | null | undefined;

/**
 * V8's `gc` function, for the transfer host's own pacing of collections (core/young-collection.ts,
 * host/quiet-shrink.ts). `--expose-gc` set at run time installs it in contexts created afterwards (not
 * in the main one, whose global stays as it was), so it is taken from a new, otherwise unused context.
 * null when this Node's V8 no longer installs it that way: callers then leave collections to V8.
 */
export function exposedGc(): GcFunction | null {
  if (cached !== undefined) return cached;
  setFlagsFromString('--expose-gc');
  const exposed: unknown = runInNewContext('typeof gc === "function" ? gc : null');
  cached = typeof exposed === 'function' ? (exposed as GcFunction) : null;
  return cached;
}
