import { connect, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { listenOnLoopback } from './loopback.ts';

/**
 * What the proxy does to one connection; `{}` passes everything through. Byte counts are per
 * connection and include everything on it (request heads, keep-alive reuse).
 */
export interface FaultPlan {
  /** After forwarding this many client→server bytes, reset (RST) both sides. */
  resetAfterUpstreamBytes?: number;
  /** After forwarding this many client→server bytes, stop forwarding both ways but keep both sides open. */
  stallAfterUpstreamBytes?: number;
  /**
   * With stallAfterUpstreamBytes: the stall waits until the server's first bytes went to the client (a
   * resumable upload's 104 or creation answer, which names its session). Server and proxy share the
   * test's event loop; on a loaded machine the upload could reach the limit before that answer got out.
   */
  stallOnceAnswered?: boolean;
  /** Forward client→server at most this fast. */
  throttleBytesPerSecond?: number;
  /** After forwarding this many server→client bytes, close (FIN) the client side and drop the server side. */
  truncateAfterDownstreamBytes?: number;
  /** After forwarding this many server→client bytes, reset (RST) both sides (a download cut mid-body). */
  resetAfterDownstreamBytes?: number;
  /** Inverts the bits of the client→server byte at this offset on the way (the connection goes on). */
  flipUpstreamByteAt?: number;
}

export type FaultKind = 'reset' | 'stall' | 'truncate' | 'flip';

/** One proxied connection, updated live. */
export interface ProxyConnection {
  id: number;
  plan: FaultPlan;
  /** Bytes read from the client, including any the proxy dropped at a fault. */
  upstreamRead: number;
  /** Client→server bytes written to the server. */
  upstreamBytes: number;
  /** Server→client bytes written to the client. */
  downstreamBytes: number;
  fault: FaultKind | null;
  /** performance.now() when the fault happened. */
  faultAt: number | null;
  closed: boolean;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: the target's URL through the proxy. */
  url: string;
  port: number;
  connections: ProxyConnection[];
  /** The plan for connections no `nextConnection` call scripted. */
  setDefaultPlan(plan: FaultPlan): void;
  /** Scripts the next connections, in order (queued after earlier scripted ones). */
  nextConnection(...plans: FaultPlan[]): void;
  /** Totals over all connections. */
  upstreamBytes(): number;
  downstreamBytes(): number;
  /** Resolves with the first connection that had a fault (polled every 5 ms). */
  waitForFault(timeoutMs?: number): Promise<ProxyConnection>;
  /** Destroys every connection (stalled ones included) and closes the listener; safe to call twice. */
  close(): Promise<void>;
}

/**
 * A fault-injecting TCP proxy on 127.0.0.1:0 in front of `targetPort` (no
 * toxiproxy here). Real backpressure both ways: a side that cannot take more pauses the other,
 * so the proxy holds at most a chunk or two per connection however much the client sends.
 */
export async function startFaultProxy(
  targetPort: number,
  options: {
    targetHost?: string;
    defaultPlan?: FaultPlan;
    /** Called as a fault happens (before the sockets are cut): e.g. to set the plan of the next connection. */
    onFault?: (connection: ProxyConnection) => void;
  } = {},
): Promise<FaultProxy> {
  const targetHost = options.targetHost ?? '127.0.0.1';
  let defaultPlan: FaultPlan = options.defaultPlan ?? {};
  const scripted: FaultPlan[] = [];
  const connections: ProxyConnection[] = [];
  const sockets = new Set<Socket>();
  let closing: Promise<void> | undefined;

  // Half-open on both sides: a FIN is passed on as a FIN (the Pumps do it), never taken as "close all".
  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    const plan = scripted.shift() ?? defaultPlan;
    const upstream = connect({ port: targetPort, host: targetHost, allowHalfOpen: true });
    const state: ProxyConnection = {
      id: connections.length + 1,
      plan,
      upstreamRead: 0,
      upstreamBytes: 0,
      downstreamBytes: 0,
      fault: null,
      faultAt: null,
      closed: false,
    };
    connections.push(state);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        state.closed = !sockets.has(client) && !sockets.has(upstream);
      });
    }
    // The client gave up: the server side goes too. The server side gone: the client follows, unless
    // a fault is under way (a stall must look alive; a truncation's FIN must get out first).
    // destroySoon: what was already forwarded is flushed first.
    client.on('close', () => upstream.destroySoon());
    upstream.on('close', () => {
      if (state.fault === null) client.destroySoon();
    });
    const fault = (kind: FaultKind): void => {
      state.fault = kind;
      state.faultAt = performance.now();
      options.onFault?.(state);
    };

    let stallWhenAnswered = false;
    const upstreamLimit = plan.resetAfterUpstreamBytes ?? plan.stallAfterUpstreamBytes;
    const toServer = new Pump(client, upstream, {
      ...(plan.throttleBytesPerSecond === undefined ? {} : { bytesPerSecond: plan.throttleBytesPerSecond }),
      ...(upstreamLimit === undefined ? {} : { limit: upstreamLimit }),
      ...(plan.flipUpstreamByteAt === undefined
        ? {}
        : { flipAt: plan.flipUpstreamByteAt, onFlip: () => fault('flip') }),
      onRead: (length) => {
        state.upstreamRead += length;
      },
      onForwarded: (length) => {
        state.upstreamBytes += length;
      },
      onLimit: () => {
        if (plan.resetAfterUpstreamBytes !== undefined) {
          fault('reset');
          client.resetAndDestroy();
          upstream.resetAndDestroy();
          return;
        }
        // Stall: nothing moves either way, but both connections stay open.
        if (plan.stallOnceAnswered === true && state.downstreamBytes === 0) {
          stallWhenAnswered = true;
          return;
        }
        fault('stall');
        toClient.stop();
      },
    });
    const downstreamLimit = plan.resetAfterDownstreamBytes ?? plan.truncateAfterDownstreamBytes;
    const toClient = new Pump(upstream, client, {
      ...(downstreamLimit === undefined ? {} : { limit: downstreamLimit }),
      onForwarded: (length) => {
        state.downstreamBytes += length;
        if (stallWhenAnswered) {
          // This piece (the answer) is still written; nothing after it.
          stallWhenAnswered = false;
          fault('stall');
          toClient.stop();
        }
      },
      onLimit: () => {
        if (plan.resetAfterDownstreamBytes !== undefined) {
          fault('reset');
          client.resetAndDestroy();
          upstream.resetAndDestroy();
          return;
        }
        fault('truncate');
        client.end();
        upstream.destroy();
      },
    });
    toServer.start();
    toClient.start();
  });
  server.on('error', () => {});
  const { port, url } = await listenOnLoopback(server);

  return {
    url,
    port,
    connections,
    setDefaultPlan(plan) {
      defaultPlan = plan;
    },
    nextConnection(...plans) {
      scripted.push(...plans);
    },
    upstreamBytes: () => connections.reduce((sum, connection) => sum + connection.upstreamBytes, 0),
    downstreamBytes: () => connections.reduce((sum, connection) => sum + connection.downstreamBytes, 0),
    async waitForFault(timeoutMs = 10_000) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const found = connections.find((connection) => connection.fault !== null);
        if (found !== undefined) return found;
        if (performance.now() > deadline) throw new Error(`no fault within ${timeoutMs} ms`);
        await sleep(5);
      }
    },
    close() {
      for (const socket of sockets) socket.destroy();
      closing ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return closing;
    },
  };
}

interface PumpOptions {
  bytesPerSecond?: number;
  /** Forward exactly this many bytes, then call onLimit once (once the last piece was written). */
  limit?: number;
  /** Inverts the byte at this offset of the stream (a corruption TCP's checksum happened to miss). */
  flipAt?: number;
  onFlip?(): void;
  onRead?(length: number): void;
  onForwarded(length: number): void;
  onLimit(): void;
}

/** Copies one direction with backpressure, an optional rate limit and an optional byte limit. */
class Pump {
  readonly #from: Socket;
  readonly #to: Socket;
  readonly #options: PumpOptions;
  /** Why reading is paused: 'drain' (the other side is full), 'rate' (ahead of the rate limit). */
  readonly #holds = new Set<'drain' | 'rate'>();
  #forwarded = 0;
  #stopped = false;
  #startedAt = 0;

  constructor(from: Socket, to: Socket, options: PumpOptions) {
    this.#from = from;
    this.#to = to;
    this.#options = options;
  }

  start(): void {
    this.#startedAt = performance.now();
    this.#from.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#from.on('end', () => {
      if (!this.#stopped) this.#to.end();
    });
  }

  /** Forwards nothing more and stops reading (the sender's buffers then fill: TCP backpressure). */
  stop(): void {
    this.#stopped = true;
    this.#from.pause();
  }

  #onData(chunk: Buffer): void {
    this.#options.onRead?.(chunk.byteLength);
    if (this.#stopped) return;
    const { limit } = this.#options;
    const room = limit === undefined ? Number.POSITIVE_INFINITY : limit - this.#forwarded;
    let piece = chunk.byteLength > room ? chunk.subarray(0, room) : chunk;
    const { flipAt } = this.#options;
    if (flipAt !== undefined && flipAt >= this.#forwarded && flipAt < this.#forwarded + piece.byteLength) {
      piece = Buffer.from(piece);
      const at = flipAt - this.#forwarded;
      piece[at] = (piece[at] ?? 0) ^ 0xff;
      this.#options.onFlip?.();
    }
    const reachesLimit = limit !== undefined && this.#forwarded + piece.byteLength >= limit;
    this.#forwarded += piece.byteLength;
    this.#options.onForwarded(piece.byteLength);
    if (reachesLimit) {
      this.stop();
      // After the write: the limit's bytes are handed to the kernel before the fault.
      this.#to.write(piece, () => this.#options.onLimit());
      return;
    }
    if (!this.#to.write(piece)) {
      this.#hold('drain');
      this.#to.once('drain', () => this.#release('drain'));
    }
    const rate = this.#options.bytesPerSecond;
    if (rate !== undefined) {
      const aheadMs = (this.#forwarded / rate) * 1000 - (performance.now() - this.#startedAt);
      if (aheadMs >= 1) {
        this.#hold('rate');
        setTimeout(() => this.#release('rate'), aheadMs);
      }
    }
  }

  #hold(reason: 'drain' | 'rate'): void {
    this.#holds.add(reason);
    this.#from.pause();
  }

  #release(reason: 'drain' | 'rate'): void {
    this.#holds.delete(reason);
    if (this.#holds.size === 0 && !this.#stopped) this.#from.resume();
  }
}
