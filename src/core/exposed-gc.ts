import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * V8's `gc` function. Without an argument it runs a full collection (mark-compact). With `{ type:
 * 'minor' }` a young-generation one: Node 20's V8 takes any truthy argument as "minor" (so `{ type:
 * 'major' }` is a scavenge there, too), newer ones read the option; only these two calls mean the same
 * to both.
 */
export type GcFunction = (options?: { type: 'minor' }) => void;

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
