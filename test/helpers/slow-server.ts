import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { listenOnLoopback } from './loopback.ts';
import { waitFor } from './wait-for.ts';

/**
 * A loopback upload server for scheduling tests: it records the order in which requests arrive and
 * how many are in flight (arrived, not yet answered), and answers late (a delay per path prefix) or
 * only when the test releases a hold.
 */

export interface SlowRequest {
  path: string;
  /** Arrival number across the server's life (since the last reset). */
  index: number;
  bodyBytes: number;
  sha256: string | null;
  answered: boolean;
}

export interface Hold {
  release(): void;
}

export interface SlowServer {
  url: string;
  requests: SlowRequest[];
  /** Paths (with this prefix) in arrival order. */
  arrivals(prefix: string): string[];
  /** The most requests (with this prefix) that were in flight together: arrived, not yet answered. */
  maxInFlight(prefix: string): number;
  /** Requests whose path starts with `prefix` are answered this long after their body was read. */
  setDelay(prefix: string, delayMs: number): void;
  /** Requests for `path` are not answered until released (with firstOnly, just the first one). */
  hold(path: string, options?: { firstOnly?: boolean }): Hold;
  waitForArrival(path: string, timeoutMs?: number): Promise<void>;
  reset(): void;
  close(): Promise<void>;
}

export async function startSlowServer(): Promise<SlowServer> {
  const requests: SlowRequest[] = [];
  /** +path on arrival, -path on answer, in the order they happened. */
  const events: Array<{ path: string; delta: 1 | -1 }> = [];
  const delays = new Map<string, number>();
  const holds = new Map<string, { promise: Promise<void>; release: () => void; firstOnly: boolean; used: boolean }>();

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const record: SlowRequest = { path, index: requests.length, bodyBytes: 0, sha256: null, answered: false };
    requests.push(record);
    events.push({ path, delta: 1 });
    let open = true;
    const leave = () => {
      if (!open) return;
      open = false;
      events.push({ path, delta: -1 });
    };
    // A request the client gave up on is no longer in flight.
    res.on('close', () => {
      if (!record.answered) leave();
    });
    const hash = createHash('sha256');
    const complete = await new Promise<boolean>((resolve) => {
      req.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        record.bodyBytes += chunk.length;
      });
      req.on('end', () => resolve(true));
      req.on('close', () => resolve(false));
    });
    if (!complete) return;
    record.sha256 = hash.digest('hex');
    const hold = holds.get(path);
    if (hold && !(hold.firstOnly && hold.used)) {
      hold.used = true;
      await hold.promise;
    }
    const delay = [...delays].find(([prefix]) => path.startsWith(prefix))?.[1] ?? 0;
    if (delay > 0) await sleep(delay);
    if (res.destroyed || !open) return;
    // Counted out before the answer leaves: the client cannot start anything new before that.
    record.answered = true;
    leave();
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '2' });
    res.end('ok');
  };
  const server = createServer((req, res) => void onRequest(req, res));
  server.on('clientError', (_error, socket) => socket.destroy());
  const { url } = await listenOnLoopback(server);

  return {
    url,
    requests,
    arrivals: (prefix) => requests.filter((request) => request.path.startsWith(prefix)).map((request) => request.path),
    maxInFlight(prefix) {
      let current = 0;
      let max = 0;
      for (const event of events) {
        if (!event.path.startsWith(prefix)) continue;
        current += event.delta;
        max = Math.max(max, current);
      }
      return max;
    },
    setDelay: (prefix, delayMs) => void delays.set(prefix, delayMs),
    hold(path, options = {}) {
      let release: () => void = () => undefined;
      const promise = new Promise<void>((resolve) => {
        release = resolve;
      });
      holds.get(path)?.release();
      holds.set(path, { promise, release, firstOnly: options.firstOnly ?? false, used: false });
      return { release };
    },
    async waitForArrival(path, timeoutMs = 10_000) {
      await waitFor(`a request for ${path}`, () => requests.some((request) => request.path === path), timeoutMs);
    },
    reset() {
      for (const hold of holds.values()) hold.release();
      holds.clear();
      delays.clear();
      requests.length = 0;
      events.length = 0;
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
