import { chmodSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { BackgroundTransferStatus, isTerminalStatus } from '../core/enums.ts';
import { TransferError, toTransferError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { OperationSnapshot, OperationSpec } from '../core/snapshot.ts';
import { coalesceSnapshots } from '../core/snapshot-coalesce.ts';
import { COMPACT_ROW_FORM, SNAPSHOT_ROW_FORM } from '../core/snapshot-row.ts';
import type { SocketServeOptions } from '../host/host-main.ts';
import type { TransferService } from '../host/transfer-service.ts';
import { invoke } from './invoke-method.ts';
import { isAppMethod } from './method-names.ts';
import type { AppMethod } from './methods.ts';
import {
  encodeFrame,
  encodeFrameParts,
  FrameDecoder,
  type HostStatus,
  MAX_FRAME_BYTES,
  MAX_HOST_FRAME_BYTES,
  PROTOCOL_VERSION,
  type PushFrame,
  parseRequest,
  protocolError,
  type ReplyFrame,
  type ValidRequest,
} from './protocol.ts';

/**
 * The host's side of the socket: serves one TransferService to every app of this OS
 * user. Each connection is bound to the app id of its `hello` and sees only that app's operations
 * (docs/architecture.md). The socket file is 0600 inside a 0700 home, so only the owning user can
 * connect ("Only the owning OS user can reach the host").
 */

export interface HostServerOptions extends SocketServeOptions {
  service: TransferService;
}

/** Above this many unsent bytes a connection's progress pushes are coalesced (slow reader). */
const COALESCE_ABOVE_BYTES = 256 * 1024;
/** A client that lets this much pile up (replies are never dropped) is disconnected. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
/** Each watch is an engine listener; bound them per connection. */
const MAX_WATCHES_PER_CONNECTION = 65_536;
/** After `end()`, a client that does not close its side is cut off after this long. */
const CLOSE_GRACE_MS = 1_000;

const STATUS_NAMES = new Map<number, string>(
  Object.entries(BackgroundTransferStatus).map(([name, value]) => [value, name]),
);

export class HostServer {
  readonly #options: HostServerOptions;
  readonly #server: Server;
  readonly #sessions = new Set<ClientSession>();
  readonly #startedMs = performance.now();
  #nextSessionId = 1;

  private constructor(options: HostServerOptions) {
    this.#options = options;
    this.#server = createServer((socket) => this.#accept(socket));
  }

  /** Listens on `socketPath`, which must not exist (the caller removes a stale one while holding the lock). */
  static async listen(options: HostServerOptions): Promise<HostServer> {
    const host = new HostServer(options);
    await new Promise<void>((resolve, reject) => {
      host.#server.once('error', reject);
      host.#server.listen(options.socketPath, () => {
        host.#server.off('error', reject);
        resolve();
      });
    });
    chmodSync(options.socketPath, 0o600);
    host.#server.on('error', (error) => options.log.error({ err: error }, 'host socket error'));
    return host;
  }

  status(appId: string): HostStatus {
    // Counted in the store: building every snapshot to count them cost a 10,000-operation app ~80 MB.
    const counts: Record<string, number> = {};
    for (const [status, count] of this.#options.service.countByStatus(appId)) {
      counts[STATUS_NAMES.get(status) ?? String(status)] = count;
    }
    return {
      pid: process.pid,
      uptimeMs: Math.round(performance.now() - this.#startedMs),
      home: this.#options.service.home,
      protocolVersion: PROTOCOL_VERSION,
      appId,
      counts,
      clients: [...this.#sessions].filter((session) => session.appId !== undefined).length,
    };
  }

  /** Open connections (with or without a `hello`): an idle host exits only when there are none. */
  get connectionCount(): number {
    return this.#sessions.size;
  }

  /** Stops accepting, ends every connection (the socket file is removed by the close). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const session of this.#sessions) session.close();
    await closed;
  }

  #accept(socket: Socket): void {
    const session = new ClientSession(this.#nextSessionId++, socket, {
      service: this.#options.service,
      log: this.#options.log,
      status: (appId) => this.status(appId),
      requestShutdown: () => this.#options.onShutdownRequest(),
      closed: () => this.#sessions.delete(session),
    });
    this.#sessions.add(session);
  }
}

interface SessionHost {
  service: TransferService;
  log: Logger;
  status(appId: string): HostStatus;
  requestShutdown(): void;
  closed(): void;
}

interface SessionWatch {
  unsubscribe: () => void;
  /** The latest snapshot not yet sent because the client reads slowly. */
  pending: OperationSnapshot | undefined;
}

/** One client connection: reads requests, answers them in order, pushes watched snapshots. */
class ClientSession {
  /** Set by `hello`; every call is scoped to it. */
  appId: string | undefined;
  readonly #id: number;
  readonly #socket: Socket;
  readonly #host: SessionHost;
  readonly #decoder = new FrameDecoder(MAX_FRAME_BYTES);
  readonly #watches = new Map<number, SessionWatch>();
  /**
   * The watches holding a snapshot back (slow reader). A 'drain' comes after every write larger than
   * the socket's buffer, so walking every watch there cost a pass over thousands of them per drain.
   */
  readonly #withPending = new Set<number>();
  #closing = false;

  constructor(id: number, socket: Socket, host: SessionHost) {
    this.#id = id;
    this.#socket = socket;
    this.#host = host;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => this.#flush());
    socket.on('error', (error) => host.log.debug({ session: id, err: error }, 'client socket error'));
    socket.once('close', () => this.#dispose());
  }

  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  #onData(chunk: Buffer): void {
    if (this.#closing) return;
    const { lines, oversize } = this.#decoder.push(chunk);
    for (const line of lines) {
      this.#onLine(line);
      if (this.#closing) return;
    }
    if (oversize) this.#refuse(null, protocolError(`a frame is longer than ${MAX_FRAME_BYTES} bytes`));
  }

  #onLine(line: string): void {
    const parsed = parseRequest(line);
    if (!parsed.ok) {
      this.#host.log.warn({ session: this.#id, id: parsed.id, err: parsed.error.message }, 'bad request');
      // Before hello nothing can be trusted: refuse the connection. After it, answer and go on.
      if (this.appId === undefined) this.#refuse(parsed.id, parsed.error);
      else this.#replyError(parsed.id, parsed.error);
      return;
    }
    const { id, request } = parsed;
    if (request.method === 'hello') {
      this.#hello(id, request.params);
      return;
    }
    if (this.appId === undefined) {
      this.#refuse(id, protocolError('the first frame must be hello'));
      return;
    }
    try {
      this.#write({ v: PROTOCOL_VERSION, id, ok: true, result: this.#call(this.appId, request) });
    } catch (error) {
      const coded = toTransferError(error);
      if (coded.code === 'BT_ERR_INTERNAL') this.#host.log.error({ session: this.#id, err: error }, 'call failed');
      this.#replyError(id, coded);
    }
    if (request.method === 'shutdown') this.#host.requestShutdown();
  }

  #hello(id: number, params: { protocolVersion: number; appId: string }): void {
    if (this.appId !== undefined) {
      this.#replyError(id, protocolError('hello was already sent on this connection'));
      return;
    }
    if (params.protocolVersion !== PROTOCOL_VERSION) {
      const message = `the host speaks protocol ${PROTOCOL_VERSION}, the client ${params.protocolVersion}`;
      this.#host.log.warn({ session: this.#id, clientVersion: params.protocolVersion }, 'protocol version mismatch');
      this.#refuse(id, protocolError(message));
      return;
    }
    this.appId = params.appId;
    this.#host.log.info({ session: this.#id, appId: params.appId }, 'client connected');
    const result = {
      protocolVersion: PROTOCOL_VERSION,
      pid: process.pid,
      home: this.#host.service.home,
      finalEndsWatch: true,
      listForms: [SNAPSHOT_ROW_FORM, COMPACT_ROW_FORM],
      startWatches: true,
    };
    this.#write({ v: PROTOCOL_VERSION, id, ok: true, result });
  }

  /** Runs one call for the connection's app; throws coded errors. App methods go to the service by name. */
  #call(appId: string, request: Exclude<ValidRequest, { method: 'hello' }>): unknown {
    if (request.method === 'start' && request.params.watchId !== undefined) {
      return this.#startWatched(appId, request.params.spec, request.params.watchId);
    }
    if (isAppMethod(request.method)) {
      const { method, params } = request as Extract<ValidRequest, { method: AppMethod }>;
      return invoke(this.#host.service, method, { appId, holder: this.#spoolHolder }, params);
    }
    switch (request.method) {
      case 'watch':
        return this.#watch(appId, request.params.guid, request.params.watchId);
      case 'unwatch':
        this.#unwatch(request.params.watchId);
        return {};
      case 'status':
        return this.#host.status(appId);
      case 'shutdown':
        return {};
    }
    throw new TransferError('BT_ERR_INTERNAL', `no handler for ${request.method}`);
  }

  /**
   * A start and its watch in one request (hello's startWatches): the reply's snapshot is the watch's
   * current one, so it is not pushed; later changes are. The watch id is checked before anything is
   * stored, so a refused start has started nothing.
   */
  #startWatched(appId: string, spec: OperationSpec, watchId: number): OperationSnapshot {
    this.#assertWatchable(watchId);
    const watch: SessionWatch = { unsubscribe: () => undefined, pending: undefined };
    const context = { appId, holder: this.#spoolHolder };
    const started = this.#host.service.startWatched(context, { spec }, (snapshot) =>
      this.#push(watchId, watch, snapshot),
    );
    // Already final (a start sent again for an operation that has ended): the reply ends the watch.
    if (isTerminalStatus(started.snapshot.progress.status)) started.unsubscribe();
    else {
      watch.unsubscribe = started.unsubscribe;
      this.#watches.set(watchId, watch);
    }
    return started.snapshot;
  }

  #assertWatchable(watchId: number): void {
    if (this.#watches.has(watchId)) throw new TransferError('BT_ERR_INVALID_ARGUMENT', `watchId ${watchId} is in use`);
    if (this.#watches.size >= MAX_WATCHES_PER_CONNECTION) {
      throw new TransferError(
        'BT_ERR_INVALID_ARGUMENT',
        `at most ${MAX_WATCHES_PER_CONNECTION} watches per connection`,
      );
    }
  }

  /** The current snapshot is pushed before the reply (TransferService.watch calls back at once). */
  #watch(appId: string, guid: string, watchId: number): { watchId: number } {
    this.#assertWatchable(watchId);
    const watch: SessionWatch = { unsubscribe: () => undefined, pending: undefined };
    this.#watches.set(watchId, watch);
    try {
      watch.unsubscribe = this.#host.service.watch(appId, guid, (snapshot) => this.#push(watchId, watch, snapshot));
    } catch (error) {
      this.#watches.delete(watchId);
      throw error;
    }
    // The current snapshot (pushed during the call) was already the final one: the watch has ended.
    if (this.#watches.get(watchId) !== watch) watch.unsubscribe();
    return { watchId };
  }

  #unwatch(watchId: number): void {
    this.#watches.get(watchId)?.unsubscribe();
    this.#watches.delete(watchId);
    this.#withPending.delete(watchId);
  }

  /**
   * A slow reader must not stall the host or the other clients: above COALESCE_ABOVE_BYTES unsent, only
   * the latest snapshot per watch is kept and sent on 'drain'. Progress is a level, not a log, so
   * skipping intermediate ones loses nothing; a terminal snapshot is never replaced by a later one.
   */
  #push(watchId: number, watch: SessionWatch, snapshot: OperationSnapshot): void {
    if (this.#socket.destroyed || this.#watches.get(watchId) !== watch) return;
    if (watch.pending !== undefined || this.#socket.writableLength > COALESCE_ABOVE_BYTES) {
      watch.pending = coalesceSnapshots(watch.pending, snapshot);
      this.#withPending.add(watchId);
      return;
    }
    this.#send(watchId, snapshot);
  }

  /** On 'drain': the held snapshots go out, in the order their watches began holding one, while the socket takes them. */
  #flush(): void {
    for (const watchId of this.#withPending) {
      if (this.#socket.writableLength > COALESCE_ABOVE_BYTES) return; // the next 'drain' goes on
      this.#withPending.delete(watchId);
      const watch = this.#watches.get(watchId);
      if (watch?.pending === undefined) continue;
      const snapshot = watch.pending;
      watch.pending = undefined;
      this.#send(watchId, snapshot);
    }
  }

  /**
   * A final snapshot is the watch's last (a final status never changes): the watch ends with it, and a
   * client told so at `hello` (finalEndsWatch) sends no `unwatch`: one request and reply less per upload.
   */
  #send(watchId: number, snapshot: OperationSnapshot): void {
    this.#write(pushFrame(watchId, snapshot));
    if (isTerminalStatus(snapshot.progress.status)) this.#unwatch(watchId);
  }

  #replyError(id: number | null, error: TransferError): void {
    this.#write({ v: PROTOCOL_VERSION, id, ok: false, error: error.toJSON() });
  }

  /** Answers with the error, then closes the connection. */
  #refuse(id: number | null, error: TransferError): void {
    this.#host.log.warn({ session: this.#id, code: error.code, err: error.message }, 'closing connection');
    this.#replyError(id, error);
    this.close();
  }

  #write(frame: ReplyFrame | PushFrame): void {
    if (!this.#socket.writable) return;
    let parts = encodeFrameParts(frame);
    let length = 0;
    for (const part of parts) length += part.length;
    if (length > MAX_HOST_FRAME_BYTES && 'ok' in frame) {
      const error = protocolError(`the reply is longer than ${MAX_HOST_FRAME_BYTES} bytes`);
      parts = [encodeFrame({ v: PROTOCOL_VERSION, id: frame.id, ok: false, error: error.toJSON() })];
    }
    // Frames of one burst (a reply and its pushes, many watches' progress) leave in one write, and only
    // once the state changes they report are committed: the store commits a turn's writes together.
    if (!this.#socket.writableCorked) {
      this.#socket.cork();
      process.nextTick(() => this.#host.service.afterCommit(() => this.#socket.uncork()));
    }
    // Corked: the parts of a frame leave in the same write.
    for (const part of parts) this.#socket.write(part);
    if (this.#socket.writableLength > MAX_BUFFERED_BYTES) {
      this.#host.log.warn({ session: this.#id, appId: this.appId }, 'client does not read its replies; disconnecting');
      this.#socket.destroy();
    }
  }

  /** The spools this connection asked for are released when it closes (its app exited or gave up). */
  get #spoolHolder(): string {
    return `connection ${this.#id}`;
  }

  #dispose(): void {
    for (const watch of this.#watches.values()) watch.unsubscribe();
    this.#watches.clear();
    this.#withPending.clear();
    try {
      const released = this.#host.service.releaseSpoolHolder(this.#spoolHolder);
      if (released > 0) this.#host.log.info({ session: this.#id, files: released }, 'removed spools never started');
    } catch (error) {
      this.#host.log.warn({ session: this.#id, err: error }, 'could not release the spools of a closed connection');
    }
    this.#host.closed();
    if (this.appId !== undefined) this.#host.log.info({ session: this.#id, appId: this.appId }, 'client disconnected');
  }
}

function pushFrame(watchId: number, snapshot: OperationSnapshot): PushFrame {
  return { v: PROTOCOL_VERSION, push: 'snapshot', watchId, snapshot };
}
