import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { TransferError, toTransferError } from '../core/errors.ts';
import { createLogger, type Logger } from '../core/logger.ts';
import { resolveAppId } from '../core/paths.ts';
import type { OperationSnapshot } from '../core/snapshot.ts';
import { connectSocket, ensureHost } from './host-launcher.ts';
import { type AppMethod, mayRetry } from './methods.ts';
import {
  encodeFrame,
  FrameDecoder,
  type HostStatus,
  hostSocketPath,
  MAX_HOST_FRAME_BYTES,
  type Method,
  type ParamsOf,
  PROTOCOL_VERSION,
  parseHostMessage,
  parseResult,
  type ResultOf,
} from './protocol.ts';
import type { TransferPort } from './transfer-port.ts';

/**
 * BGTRANSFER_HOST=auto (spec/contract.md §3): the port is a client of the per-user transfer host.
 * A connection is bound to one app id by its `hello`, so the port keeps one link per app id (in
 * practice one). A link survives the host: when the connection drops (the host was killed) the next
 * call, or at once an active watch, starts a host again and reconnects; every active watch is re-sent
 * and its first push is the operation's current snapshot, so an attached app sees the upload go on.
 */

export interface SocketPortOptions {
  /** Environment passed to a host this port starts. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Start a host when none is listening (false: for `host status`/`host stop`). @default true */
  autoStart?: boolean;
  log?: Logger;
}

export class SocketPort implements TransferPort {
  readonly home: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #autoStart: boolean;
  readonly #log: Logger;
  readonly #links = new Map<string, AppLink>();
  #closed = false;

  constructor(home: string, options: SocketPortOptions = {}) {
    this.home = home;
    this.#env = options.env ?? process.env;
    this.#autoStart = options.autoStart ?? true;
    this.#log = options.log ?? createLogger('bgtransfer-client', this.#env);
  }

  /** A call lost with its connection is sent once more on a new one when METHODS says it may be. */
  call<M extends AppMethod>(method: M, appId: string, params: ParamsOf<M>): Promise<ResultOf<M>> {
    return this.#link(appId).call(method, params, mayRetry(method, params));
  }

  watch(
    appId: string,
    guid: string,
    listener: (snapshot: OperationSnapshot) => void,
    onError?: (error: TransferError) => void,
  ): () => void {
    return this.#link(appId).watch(guid, listener, onError);
  }

  /** The host's pid, uptime and the app's counts by status. */
  status(appId: string = resolveAppId(this.#env)): Promise<HostStatus> {
    return this.#link(appId).call('status', {}, mayRetry('status', {}));
  }

  /** Asks the host to stop; running uploads stay persisted for the next host (R12). */
  async shutdown(appId: string = resolveAppId(this.#env)): Promise<void> {
    await this.#link(appId).call('shutdown', {}, mayRetry('shutdown', {}));
  }

  /** Ends every connection; later calls reject with BT_ERR_ILLEGAL_STATE, as with a closed engine. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#links.values()].map((link) => link.close()));
  }

  #link(appId: string): AppLink {
    let link = this.#links.get(appId);
    if (!link) {
      link = new AppLink({ home: this.home, appId, env: this.#env, autoStart: this.#autoStart, log: this.#log });
      this.#links.set(appId, link);
      if (this.#closed) void link.close();
    }
    return link;
  }
}

/** How long a host may take to answer `hello` before it is taken for hung. */
const HELLO_TIMEOUT_MS = 5_000;
/** How long to wait for a host to start (ensureHost) and answer `hello`. */
const HOST_START_TIMEOUT_MS = 10_000;
const HANDSHAKE_RETRY_MS = 25;
/** Active watches retry a failed reconnect after 250 ms, doubling up to this. */
const MAX_RECONNECT_DELAY_MS = 30_000;

interface LinkOptions {
  home: string;
  appId: string;
  env: NodeJS.ProcessEnv;
  autoStart: boolean;
  log: Logger;
}

interface Watch {
  guid: string;
  listener: (snapshot: OperationSnapshot) => void;
  onError: ((error: TransferError) => void) | undefined;
}

/** One app id's connection to the host, re-established on demand. */
class AppLink {
  readonly #options: LinkOptions;
  readonly #watches = new Map<number, Watch>();
  #nextWatchId = 1;
  #connection: Connection | undefined;
  #connecting: Promise<Connection> | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: LinkOptions) {
    this.#options = options;
  }

  /** A call lost with its connection is sent once more on a new one if `retry`, else rejected. */
  async call<M extends Method>(method: M, params: ParamsOf<M>, retry: boolean): Promise<ResultOf<M>> {
    const first = await this.#connect();
    try {
      return await first.request(method, params);
    } catch (error) {
      if (!(error instanceof ConnectionLost)) throw error;
      if (!retry || !this.#options.autoStart) throw lostDuring(method, error);
      this.#options.log.info({ method }, 'connection to the transfer host lost during a call; retrying once');
    }
    const second = await this.#connect();
    try {
      return await second.request(method, params);
    } catch (error) {
      throw error instanceof ConnectionLost ? lostDuring(method, error) : error;
    }
  }

  watch(
    guid: string,
    listener: (snapshot: OperationSnapshot) => void,
    onError?: (error: TransferError) => void,
  ): () => void {
    const watchId = this.#nextWatchId++;
    const watch: Watch = { guid, listener, onError };
    this.#watches.set(watchId, watch);
    if (this.#connection) {
      this.#connection.holdOpen(true);
      this.#sendWatch(this.#connection, watchId, watch);
    } else {
      // #open sends every registered watch once connected.
      this.#reconnect(0);
    }
    return () => {
      if (this.#watches.get(watchId) !== watch) return;
      this.#watches.delete(watchId);
      const connection = this.#connection;
      connection?.request('unwatch', { watchId }).catch(() => undefined);
      connection?.holdOpen(this.#watches.size > 0);
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#reconnectTimer);
    this.#watches.clear();
    const connection = this.#connection ?? (await this.#connecting?.catch(() => undefined));
    connection?.close();
  }

  #connect(): Promise<Connection> {
    if (this.#closed) return Promise.reject(new TransferError('BT_ERR_ILLEGAL_STATE', 'the transfer port is closed'));
    if (this.#connection) return Promise.resolve(this.#connection);
    this.#connecting ??= this.#open().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #open(): Promise<Connection> {
    const deadlineMs = performance.now() + HOST_START_TIMEOUT_MS;
    for (;;) {
      const socket = this.#options.autoStart
        ? await ensureHost(this.#options.home, {
            env: this.#options.env,
            timeoutMs: Math.max(0, deadlineMs - performance.now()),
          })
        : await connectSocket(hostSocketPath(this.#options.home));
      try {
        return await this.#handshake(socket);
      } catch (error) {
        // A host that was just killed can still accept a connection and then drop it: it is going
        // away, so look again (ensureHost starts the next one) until the start timeout.
        const dying = error instanceof ConnectionLost && this.#options.autoStart && !this.#closed;
        if (!dying || performance.now() > deadlineMs) {
          throw error instanceof ConnectionLost ? lostDuring('hello', error) : error;
        }
        await sleep(HANDSHAKE_RETRY_MS);
      }
    }
  }

  async #handshake(socket: Socket): Promise<Connection> {
    const { appId, log } = this.#options;
    const connection: Connection = new Connection(socket, log, {
      push: (watchId, snapshot) => this.#deliver(watchId, snapshot),
      close: () => this.#lost(connection),
    });
    try {
      await connection.request('hello', { protocolVersion: PROTOCOL_VERSION, appId }, HELLO_TIMEOUT_MS);
    } catch (error) {
      connection.close();
      throw error;
    }
    if (this.#closed) {
      connection.close();
      throw new TransferError('BT_ERR_ILLEGAL_STATE', 'the transfer port is closed');
    }
    this.#connection = connection;
    connection.holdOpen(this.#watches.size > 0);
    for (const [watchId, watch] of this.#watches) this.#sendWatch(connection, watchId, watch);
    return connection;
  }

  /** The host answers `watch` after pushing the current snapshot; an error (e.g. not found) ends the watch. */
  #sendWatch(connection: Connection, watchId: number, watch: Watch): void {
    connection.request('watch', { guid: watch.guid, watchId }).catch((error: unknown) => {
      if (error instanceof ConnectionLost) return; // re-sent after the reconnect
      this.#options.log.warn({ guid: watch.guid, err: error }, 'watch refused by the transfer host');
      if (this.#watches.get(watchId) !== watch) return;
      this.#watches.delete(watchId);
      this.#connection?.holdOpen(this.#watches.size > 0);
      watch.onError?.(toTransferError(error));
    });
  }

  #deliver(watchId: number, snapshot: OperationSnapshot): void {
    const watch = this.#watches.get(watchId);
    if (!watch || snapshot.guid !== watch.guid) return;
    try {
      watch.listener(snapshot);
    } catch (error) {
      this.#options.log.warn({ guid: watch.guid, err: error }, 'watch listener threw');
    }
  }

  #lost(connection: Connection): void {
    if (this.#connection !== connection) return;
    this.#connection = undefined;
    if (this.#closed || this.#watches.size === 0 || !this.#options.autoStart) return;
    this.#options.log.warn({ watches: this.#watches.size }, 'connection to the transfer host lost; reconnecting');
    this.#reconnect(0);
  }

  /** Active watches need a connection: keep trying, backing off, until one is up or no watch is left. */
  #reconnect(attempt: number): void {
    clearTimeout(this.#reconnectTimer);
    const startedMs = performance.now();
    this.#connect().then(
      () => {
        const connectMs = Math.round(performance.now() - startedMs);
        this.#options.log.info({ connectMs, attempt }, 'connected to the transfer host');
      },
      (error: unknown) => {
        if (this.#closed || this.#watches.size === 0 || !this.#options.autoStart) return;
        const delayMs = Math.min(250 * 2 ** attempt, MAX_RECONNECT_DELAY_MS);
        this.#options.log.warn({ err: error, delayMs }, 'cannot reach the transfer host; trying again');
        // One retry timer per link, however many watches asked for a connection at once.
        clearTimeout(this.#reconnectTimer);
        this.#reconnectTimer = setTimeout(() => this.#reconnect(attempt + 1), delayMs);
      },
    );
  }
}

/** A request whose connection closed before the reply came. Internal: the link retries or rejects. */
class ConnectionLost extends Error {}

function lostDuring(method: string, cause: unknown): TransferError {
  return new TransferError('BT_ERR_HOST_UNREACHABLE', `the connection to the transfer host was lost during ${method}`, {
    cause,
  });
}

interface ConnectionEvents {
  push(watchId: number, snapshot: OperationSnapshot): void;
  close(): void;
}

interface Pending {
  method: Method;
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/** One socket to the host: frames, replies correlated by id, pushes handed to the link. */
class Connection {
  readonly #socket: Socket;
  readonly #log: Logger;
  readonly #events: ConnectionEvents;
  readonly #decoder = new FrameDecoder(MAX_HOST_FRAME_BYTES);
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #holdOpen = false;
  #failure: TransferError | undefined;

  constructor(socket: Socket, log: Logger, events: ConnectionEvents) {
    this.#socket = socket;
    this.#log = log;
    this.#events = events;
    // An idle connection must not keep the app alive; pending calls and active watches do (#updateRef).
    socket.unref();
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error) => this.#log.debug({ err: error }, 'transfer host socket error'));
    socket.once('close', () => this.#onClose());
  }

  request<M extends Method>(method: M, params: ParamsOf<M>, timeoutMs?: number): Promise<ResultOf<M>> {
    if (this.#socket.destroyed) return Promise.reject(new ConnectionLost('the connection is closed'));
    const id = this.#nextId++;
    return new Promise<ResultOf<M>>((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.#fail(new TransferError('BT_ERR_HOST_UNREACHABLE', `the transfer host did not answer ${method}`));
            }, timeoutMs);
      const settle = (): void => {
        clearTimeout(timer);
        this.#pending.delete(id);
        this.#updateRef();
      };
      this.#pending.set(id, {
        method,
        resolve: (result) => {
          settle();
          resolve(result as ResultOf<M>);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      });
      this.#updateRef();
      this.#socket.write(encodeFrame({ v: PROTOCOL_VERSION, id, method, params }));
    });
  }

  holdOpen(hold: boolean): void {
    this.#holdOpen = hold;
    this.#updateRef();
  }

  close(): void {
    this.#socket.end();
    this.#socket.destroySoon();
  }

  #updateRef(): void {
    if (this.#socket.destroyed) return;
    if (this.#pending.size > 0 || this.#holdOpen) this.#socket.ref();
    else this.#socket.unref();
  }

  #onData(chunk: Buffer): void {
    const { lines, oversize } = this.#decoder.push(chunk);
    for (const line of lines) {
      try {
        this.#onMessage(line);
      } catch (error) {
        // A host that breaks the protocol cannot be trusted with the calls in flight either.
        this.#fail(error instanceof TransferError ? error : new TransferError('BT_ERR_INTERNAL', String(error)));
        return;
      }
    }
    if (oversize) this.#fail(new TransferError('BT_ERR_IPC_PROTOCOL', 'the transfer host sent an oversized frame'));
  }

  #onMessage(line: string): void {
    const message = parseHostMessage(line);
    if (message.kind === 'push') {
      this.#events.push(message.frame.watchId, message.frame.snapshot);
      return;
    }
    const reply = message.frame;
    const pending = reply.id === null ? undefined : this.#pending.get(reply.id);
    if (!pending) {
      this.#log.warn({ id: reply.id, error: reply.ok ? undefined : reply.error }, 'unexpected reply from the host');
      return;
    }
    if (reply.ok) pending.resolve(parseResult(pending.method, reply.result));
    else pending.reject(TransferError.fromJSON(reply.error));
  }

  #fail(error: TransferError): void {
    this.#failure ??= error;
    this.#socket.destroy();
  }

  #onClose(): void {
    const failure = this.#failure;
    for (const pending of [...this.#pending.values()]) {
      pending.reject(failure ?? new ConnectionLost('the connection to the transfer host closed'));
    }
    this.#events.close();
  }
}
