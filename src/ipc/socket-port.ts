import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { isTerminalStatus } from '../core/enums.ts';
import { TransferError, toTransferError } from '../core/errors.ts';
import { createLazyLogger, type LogSink } from '../core/lazy-logger.ts';
import { hostSocketPath, resolveAppId } from '../core/paths.ts';
import type { OperationSnapshot } from '../core/snapshot.ts';
import { ROW_FORMS, type RowForm } from '../core/snapshot-row.ts';
import { mayRetry } from './call-retry.ts';
import { PROTOCOL_VERSION } from './frames.ts';
import { Connection, ConnectionLost, lostDuring } from './host-connection.ts';
import { connectSocket, ensureHost } from './host-launcher.ts';
import { type ListCalls, listAll, listPages, STREAM_PAGE_SIZE } from './list-pages.ts';
import type { AppMethod, HostStatus, Method, ParamsOf, ResultOf } from './methods.ts';
import { reconnectDelayMs } from './reconnect-policy.ts';
import { StartedWatches } from './started-watches.ts';
import type { TransferPort } from './transfer-port.ts';

/**
 * BGTRANSFER_HOST=auto: the port is a client of the per-user transfer host.
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
  log?: LogSink;
}

export class SocketPort implements TransferPort {
  readonly home: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #autoStart: boolean;
  readonly #log: LogSink;
  readonly #links = new Map<string, AppLink>();
  #closed = false;

  constructor(home: string, options: SocketPortOptions = {}) {
    this.home = home;
    this.#env = options.env ?? process.env;
    this.#autoStart = options.autoStart ?? true;
    this.#log = options.log ?? createLazyLogger('bgtransfer-client', this.#env);
  }

  /**
   * A call lost with its connection is sent once more on a new one when METHODS says it may be.
   * `list` is sent as listPage calls (list-pages.ts), same result.
   */
  call<M extends AppMethod>(method: M, appId: string, params: ParamsOf<M>): Promise<ResultOf<M>> {
    if (method === 'list') {
      // M is 'list' here; TypeScript does not narrow a type parameter by a value check.
      return listAll(this.#listCalls(appId), params as ParamsOf<'list'>) as Promise<ResultOf<M>>;
    }
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

  /**
   * The app's operations a page at a time (list-pages.ts), the next page asked for while this one is
   * used; pages of STREAM_PAGE_SIZE, as the reader drops each.
   */
  listPages(appId: string, params: ParamsOf<'list'>): AsyncGenerator<OperationSnapshot[], void, undefined> {
    return listPages(this.#listCalls(appId), params, STREAM_PAGE_SIZE);
  }

  #listCalls(appId: string): ListCalls {
    const link = this.#link(appId);
    return {
      page: (params) => link.call('listPage', params, true),
      whole: (params) => link.call('list', params, true),
    };
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

interface LinkOptions {
  home: string;
  appId: string;
  env: NodeJS.ProcessEnv;
  autoStart: boolean;
  log: LogSink;
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
  /** The connected host ends a watch with its final snapshot (hello's finalEndsWatch). */
  #finalEndsWatch = false;
  /** The newest row form the connected host sends listPage replies in when asked (hello's listForms). */
  #listForm: RowForm | undefined;
  /** The connected host takes a watchId with `start` (hello's startWatches). */
  #startWatches = false;
  /** Watches started with a start, until watch() claims them. */
  readonly #started = new StartedWatches();
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
      return await this.#send(first, method, params);
    } catch (error) {
      if (!(error instanceof ConnectionLost)) throw error;
      if (!retry || !this.#options.autoStart) throw lostDuring(method, error);
      this.#options.log.info({ method }, 'connection to the transfer host lost during a call; retrying once');
    }
    const second = await this.#connect();
    try {
      return await this.#send(second, method, params);
    } catch (error) {
      throw error instanceof ConnectionLost ? lostDuring(method, error) : error;
    }
  }

  #send<M extends Method>(connection: Connection, method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    if (method !== 'start' || !this.#startWatches) return connection.request(method, this.#paramsFor(method, params));
    // M is 'start' here; TypeScript does not narrow a type parameter by a value check.
    return this.#startWatched(connection, params as ParamsOf<'start'>) as Promise<ResultOf<M>>;
  }

  /**
   * A start carries a watch id, so the watch() that follows it (startAsync, `bgtransfer upload`) costs
   * no request: one frame each way instead of three each way (watch, its reply, the current snapshot).
   * Until watch() claims it, the started watch keeps the newest snapshot; a refused or lost start
   * leaves none. A started watch nobody claims ends with the operation (the host ends it with the final
   * snapshot) or with the connection.
   */
  async #startWatched(connection: Connection, params: ParamsOf<'start'>): Promise<ResultOf<'start'>> {
    const started = this.#started.begin(this.#nextWatchId++, params.spec.guid, connection);
    let snapshot: ResultOf<'start'>;
    try {
      snapshot = await connection.request('start', { ...params, watchId: started.watchId });
    } catch (error) {
      this.#started.forget(started);
      throw error;
    }
    this.#started.answered(started, snapshot);
    return snapshot;
  }

  /**
   * A page is asked for as rows (core/snapshot-row.ts) from a host that offers them: about half the
   * bytes, and no key names for the client to parse. Decided per connection, as a call lost with one
   * connection may be sent again to another host.
   */
  #paramsFor<M extends Method>(method: M, params: ParamsOf<M>): ParamsOf<M> {
    if (method !== 'listPage' || this.#listForm === undefined) return params;
    return { ...(params as ParamsOf<'listPage'>), form: this.#listForm } as ParamsOf<M>;
  }

  watch(
    guid: string,
    listener: (snapshot: OperationSnapshot) => void,
    onError?: (error: TransferError) => void,
  ): () => void {
    const watch: Watch = { guid, listener, onError };
    const claimed = this.#started.claim(guid, this.#connection);
    const watchId = claimed?.watchId ?? this.#nextWatchId++;
    this.#watches.set(watchId, watch);
    if (claimed) {
      this.#connection?.holdOpen(true);
      // Asynchronously, as a push would come: the caller has watch()'s return value before its listener runs.
      queueMicrotask(() => this.#deliver(watchId, claimed.current));
    } else if (this.#connection) {
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
    let finalEndsWatch: boolean;
    let listForm: RowForm | undefined;
    let startWatches: boolean;
    try {
      const hello = await connection.request('hello', { protocolVersion: PROTOCOL_VERSION, appId }, HELLO_TIMEOUT_MS);
      finalEndsWatch = hello.finalEndsWatch === true;
      listForm = ROW_FORMS.find((form) => hello.listForms?.includes(form));
      // Only with finalEndsWatch: a started watch nobody claims must end with its operation on both sides.
      startWatches = hello.startWatches === true && finalEndsWatch;
    } catch (error) {
      connection.close();
      throw error;
    }
    if (this.#closed) {
      connection.close();
      throw new TransferError('BT_ERR_ILLEGAL_STATE', 'the transfer port is closed');
    }
    this.#connection = connection;
    this.#finalEndsWatch = finalEndsWatch;
    this.#listForm = listForm;
    this.#startWatches = startWatches;
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
    if (this.#started.deliver(watchId, snapshot)) return;
    const watch = this.#watches.get(watchId);
    if (!watch || snapshot.guid !== watch.guid) return;
    if (this.#finalEndsWatch && isTerminalStatus(snapshot.progress.status)) {
      // The host ended the watch with this snapshot: nothing to unwatch, nothing to re-send on a reconnect.
      this.#watches.delete(watchId);
      this.#connection?.holdOpen(this.#watches.size > 0);
    }
    try {
      watch.listener(snapshot);
    } catch (error) {
      this.#options.log.warn({ guid: watch.guid, err: error }, 'watch listener threw');
    }
  }

  #lost(connection: Connection): void {
    if (this.#connection !== connection) return;
    this.#connection = undefined;
    this.#started.dropConnection(connection);
    if (this.#closed || this.#watches.size === 0 || !this.#options.autoStart) return;
    this.#options.log.warn({ watches: this.#watches.size }, 'connection to the transfer host lost; reconnecting');
    this.#reconnect(0);
  }

  /** Active watches need a connection: keep trying (RECONNECT_POLICY) until one is up or no watch is left. */
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
        const delayMs = reconnectDelayMs(attempt);
        this.#options.log.warn({ err: error, delayMs }, 'cannot reach the transfer host; trying again');
        // One retry timer per link, however many watches asked for a connection at once.
        clearTimeout(this.#reconnectTimer);
        this.#reconnectTimer = setTimeout(() => this.#reconnect(attempt + 1), delayMs);
      },
    );
  }
}
