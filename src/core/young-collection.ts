import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Young-generation collections paced by the bytes a big response body moves through the process.
 *
 * Every socket read gives the host a new 64 KiB ArrayBuffer. Its memory lies outside V8's heap, but V8
 * counts it against the old generation's allocation limit until a collection frees it, and a host's
 * small heap (about 14 MiB live) gets only 8–9 MiB of headroom above that. The buffers die young, so a
 * scavenge would free them, but scavenges come when the young generation fills, and a body allocates
 * little on the heap per read: one came every 35–100 MiB of body. So a big download crossed the limit
 * every 20–30 MiB and ran a full mark-compact each time (18–22 per 512 MiB; docs/performance.md,
 * "Downloads"). A scavenge every YOUNG_COLLECTION_STEP_BYTES (about 1 ms each with the host's 1 MiB
 * semi-space) frees the buffers before the limit is reached. The step was measured: at 4 and 8 MiB no
 * mark-compact was left, 4 MiB used the least CPU and memory; at 16 and 32 MiB the headroom was crossed
 * again; at 2 MiB the more frequent scavenges promoted more and full collections came back.
 *
 * Off unless `enableYoungCollections` was called: only the transfer host (ipc/host-flags.ts) turns it
 * on; an app's process running the engine in-process keeps V8's own pacing.
 */

export const YOUNG_COLLECTION_STEP_BYTES = 4 * 1024 * 1024;

/** V8's `gc` function, asked for a young-generation collection only. */
export type YoungCollector = (options: { type: 'minor' }) => void;

let collect: YoungCollector | null = null;
let bytesSince = 0;

/**
 * Turns the paced collections on. By default through V8's `gc` function: `--expose-gc` set at run time
 * installs it in contexts created afterwards (not in the main one, whose global stays as it was), so it
 * is taken from a new, otherwise unused context. A test passes its own collector.
 */
export function enableYoungCollections(collector?: YoungCollector): void {
  bytesSince = 0;
  if (collector !== undefined) {
    collect = collector;
    return;
  }
  setFlagsFromString('--expose-gc');
  // A Node whose V8 no longer installs `gc` this way leaves the pacing off rather than failing the host.
  const exposed: unknown = runInNewContext('typeof gc === "function" ? gc : null');
  collect = typeof exposed === 'function' ? (exposed as YoungCollector) : null;
}

/** Off again (tests). */
export function disableYoungCollections(): void {
  collect = null;
  bytesSince = 0;
}

/** `bytes` of a response body were written and their buffers let go: collect when a step is reached. */
export function noteBodyBytesReleased(bytes: number): void {
  if (collect === null) return;
  bytesSince += bytes;
  if (bytesSince < YOUNG_COLLECTION_STEP_BYTES) return;
  bytesSince = 0;
  collect({ type: 'minor' });
}
