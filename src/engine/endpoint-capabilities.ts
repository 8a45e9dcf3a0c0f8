import type { EndpointProbe, LearnedEndpoint } from '../protocols/upload-protocol.ts';
import type { EndpointCapability } from '../store/endpoint-capability.ts';
import type { OperationStore } from '../store/operation-store.ts';

/** How long a learned capability is trusted; servers are rarely replaced, and a mismatch forgets at once. */
export const ENDPOINT_MEMORY_MS = 24 * 60 * 60 * 1000;

/**
 * The keys of an upload URL, without userinfo, query or fragment (they may hold secrets, and a signed
 * query differs per upload). `exact` = scheme://host:port/path: a resumable protocol's creation
 * endpoint is a path, and one origin may serve it at /files/ and plain uploads elsewhere. `origin` =
 * scheme://host:port: plain servers (WebDAV, S3-like PUTs) take a different URL per file, so a plain
 * answer is also remembered for the whole origin; a resumable endpoint under it is then found by its
 * answer to the plain request (the protocol's `contradicts`), which forgets the origin entry.
 */
export function endpointKeys(url: URL): { exact: string; origin: string } {
  const port = url.port === '' ? (url.protocol === 'https:' ? '443' : '80') : url.port;
  const origin = `${url.protocol}//${url.hostname}:${port}`;
  return { exact: `${origin}${url.pathname}`, origin };
}

interface StoreMemory {
  /**
   * The store's unexpired entries, read in one query at the first lookup: a plain origin takes a new
   * path per file, and looking each one up in the store (to find no entry of its own) was a query per
   * upload. Complete because the host is the only writer of its store (the home lock) and writes
   * through here.
   */
  entries: Map<string, EndpointCapability> | undefined;
  /** Probes in flight per origin: concurrent uploads share one. */
  probes: Map<string, PendingProbe>;
}

interface PendingProbe {
  exact: string;
  done: Promise<EndpointCapability | undefined>;
}

/** One per store, so one per host. */
const memories = new WeakMap<OperationStore, StoreMemory>();

function memoryOf(store: OperationStore): StoreMemory {
  let memory = memories.get(store);
  if (memory === undefined) {
    memory = { entries: undefined, probes: new Map() };
    memories.set(store, memory);
  }
  return memory;
}

function entriesOf(store: OperationStore): Map<string, EndpointCapability> {
  const memory = memoryOf(store);
  memory.entries ??= store.listEndpointCapabilities();
  return memory.entries;
}

function read(store: OperationStore, key: string): EndpointCapability | undefined {
  const entries = entriesOf(store);
  const entry = entries.get(key);
  if (entry === undefined) return undefined;
  if (entry.expiresAtMs <= Date.now()) {
    entries.delete(key);
    return undefined;
  }
  return entry;
}

function write(store: OperationStore, key: string, capability: EndpointCapability | null): void {
  const entries = entriesOf(store);
  if (capability === null) {
    store.forgetEndpointCapability(key);
    entries.delete(key);
  } else {
    store.rememberEndpointCapability(key, capability);
    entries.set(key, capability);
  }
}

/** What the store knows of this URL: its own entry, else a plain origin. */
export function recallEndpoint(store: OperationStore, url: URL): EndpointCapability | undefined {
  return recallKeys(store, endpointKeys(url));
}

function recallKeys(store: OperationStore, keys: { exact: string; origin: string }): EndpointCapability | undefined {
  const exact = read(store, keys.exact);
  if (exact !== undefined) return exact;
  const origin = read(store, keys.origin);
  return origin?.protocol === 'plain' ? origin : undefined;
}

/** The endpoint answered unlike what was learned: forget it (and a plain origin) so it is probed again. */
export function forgetEndpoint(store: OperationStore, url: URL): void {
  const keys = endpointKeys(url);
  write(store, keys.exact, null);
  write(store, keys.origin, null);
}

/**
 * An upload learned what this endpoint speaks without a probe (a session a protocol created, such as
 * the draft's 104): remembered for its path, and the origin is no longer taken for plain.
 */
export function rememberEndpoint(store: OperationStore, url: URL, learned: LearnedEndpoint): void {
  const keys = endpointKeys(url);
  const now = Date.now();
  write(store, keys.origin, null);
  write(store, keys.exact, { ...learned, learnedAtMs: now, expiresAtMs: now + ENDPOINT_MEMORY_MS });
}

/**
 * What `url` speaks: remembered, or learned with one `probe` that concurrent callers for the same
 * origin share (a caller for another path of that origin uses the result if it was plain). An
 * indecisive answer (401, 5xx, …) is used for this attempt only: plain. A probe that fails rejects.
 */
export async function endpointCapability(
  store: OperationStore,
  url: URL,
  probe: () => Promise<EndpointProbe>,
  signal: AbortSignal,
): Promise<EndpointCapability> {
  const keys = endpointKeys(url);
  for (;;) {
    const known = recallKeys(store, keys);
    if (known !== undefined) return known;
    const pending = memoryOf(store).probes.get(keys.origin);
    if (pending === undefined) break;
    const shared = await untilAborted(pending.done, signal);
    if (pending.exact === keys.exact && shared !== undefined) return shared;
    // Otherwise look again: a plain answer now covers the origin; after a resumable one (only its path),
    // a failure or an indecisive answer, this path gets its own probe.
  }
  const { probes } = memoryOf(store);
  const done = learn(store, keys, probe);
  const mine: PendingProbe = {
    exact: keys.exact,
    // Out of the map before any waiter resumes, so a waiter never finds a finished probe.
    done: done
      .then(({ learned }) => learned)
      .catch(() => undefined)
      .finally(() => {
        if (probes.get(keys.origin) === mine) probes.delete(keys.origin);
      }),
  };
  probes.set(keys.origin, mine);
  try {
    return (await done).capability;
  } finally {
    // Also here: the caller may forget the endpoint at once, and must not find this probe pending.
    if (probes.get(keys.origin) === mine) probes.delete(keys.origin);
  }
}

async function learn(
  store: OperationStore,
  keys: { exact: string; origin: string },
  probe: () => Promise<EndpointProbe>,
): Promise<{ capability: EndpointCapability; learned: EndpointCapability | undefined }> {
  const answer = await probe();
  const now = Date.now();
  const capability: EndpointCapability = { ...answer.learned, learnedAtMs: now, expiresAtMs: now + ENDPOINT_MEMORY_MS };
  if (!answer.decisive) return { capability, learned: undefined };
  write(store, keys.exact, capability);
  if (capability.protocol === 'plain') write(store, keys.origin, capability);
  return { capability, learned: capability };
}

/** Waits for `promise`, but no longer than the caller's own upload lives. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
