import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { Socket } from 'node:net';
import type { MessageBus, Message as NextMessage } from 'dbus-next';

/**
 * A small, typed D-Bus client connection on top of dbus-next 0.10.2, shared by the network monitor
 * (system bus, R50/R52–R54) and the desktop notifier (session bus, R74–R76).
 *
 * Why not dbus-next's own `bus.call()` / proxy objects:
 * - dbus-next is an optionalDependency: it is imported lazily (`await import('dbus-next')`) so a
 *   missing or broken install only disables these best-effort features.
 * - A bus that is unreachable makes dbus-next emit `'error'` on the bus object, which kills the process
 *   when nobody listens; and its pending calls (including the initial `Hello`) then never settle.
 *   Here an `'error'` listener is attached before anything else, opening races against errors and a
 *   timeout, and every call has a timeout.
 * - Replies and signals are delivered in arrival order with a sequence number (`seq`), so a caller can
 *   tell whether a signal is older or newer than a reply (dbus-next resolves call promises one
 *   microtask late, after any signal that arrived in the same socket read).
 * - dbus-next has no public "disconnected" event; `onClose` watches the socket.
 */

/** Where a D-Bus connection cannot be opened: no dbus-next, bad address, no socket, refused auth, timeout. */
export class DbusUnavailableError extends Error {
  override readonly name = 'DbusUnavailableError';
}

/** An ERROR reply to a method call (e.g. `org.freedesktop.DBus.Error.ServiceUnknown`), or a call timeout. */
export class DbusCallError extends Error {
  override readonly name = 'DbusCallError';
  constructor(
    /** The D-Bus error name, or `bgtransfer.Error.Timeout` / `bgtransfer.Error.Disconnected`. */
    readonly errorName: string,
    message: string,
    /** Arrival order of the ERROR reply (like DbusReply.seq); 0 when no reply arrived. */
    readonly seq = 0,
  ) {
    super(`${errorName}: ${message}`);
  }
}

export interface DbusCallRequest {
  destination: string;
  path: string;
  interface: string;
  member: string;
  /** D-Bus signature of `body`, e.g. `'ss'`; empty or absent for no arguments. */
  signature?: string;
  body?: unknown[];
}

export interface DbusReply {
  /** Arrival order on this connection, shared with signals. */
  readonly seq: number;
  readonly sender: string;
  readonly body: readonly unknown[];
}

export interface DbusSignal {
  readonly seq: number;
  readonly sender: string;
  readonly path: string;
  readonly interface: string;
  readonly member: string;
  readonly body: readonly unknown[];
}

export interface DbusConnection {
  /** Our unique name on the bus (`:1.42`). */
  readonly uniqueName: string;
  readonly closed: boolean;
  call(request: DbusCallRequest, timeoutMs?: number): Promise<DbusReply>;
  /** Registers a match rule with the bus daemon so matching signals are routed to us. */
  addMatch(rule: string): Promise<void>;
  /** The unique name owning `name` (undefined: nobody owns it) and the reply's arrival `seq`. */
  getNameOwner(name: string): Promise<{ owner: string | undefined; seq: number }>;
  onSignal(listener: (signal: DbusSignal) => void): () => void;
  /** Called once when the connection ends (bus daemon gone, socket error, or `close()`). */
  onClose(listener: () => void): () => void;
  close(): void;
}

export interface OpenDbusOptions {
  /** How long connecting + authenticating + `Hello` may take. @default 2000 */
  timeoutMs?: number;
  /** Do not keep the Node process alive just for this connection (calls in flight still do). */
  unref?: boolean;
}

type DbusNextModule = typeof import('dbus-next');

const DEFAULT_OPEN_TIMEOUT_MS = 2_000;
const DEFAULT_CALL_TIMEOUT_MS = 5_000;
const BUS_NAME = 'org.freedesktop.DBus';
const BUS_PATH = '/org/freedesktop/DBus';

let modulePromise: Promise<DbusNextModule | Error> | undefined;

/** Imports dbus-next once; resolves to the Error when it is not installed or fails to load. */
function loadDbusNext(): Promise<DbusNextModule | Error> {
  modulePromise ??= import('dbus-next').then(
    (module) => module,
    (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
  );
  return modulePromise;
}

/** The system bus address the way libdbus and dbus-next's `systemBus()` pick it, but from `env`. */
export function systemBusAddress(env: NodeJS.ProcessEnv): string {
  const fromEnv = env.DBUS_SYSTEM_BUS_ADDRESS;
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : 'unix:path=/var/run/dbus/system_bus_socket';
}

/**
 * The session bus address: `DBUS_SESSION_BUS_ADDRESS`, else `$XDG_RUNTIME_DIR/bus` (where systemd user
 * sessions put it, as libdbus and sd-bus also assume). undefined when neither is set: dbus-next's own
 * fallback (X11 / `~/.dbus` files) is deliberately not used.
 */
export function sessionBusAddress(env: NodeJS.ProcessEnv): string | undefined {
  const fromEnv = env.DBUS_SESSION_BUS_ADDRESS;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const runtimeDir = env.XDG_RUNTIME_DIR;
  return runtimeDir !== undefined && runtimeDir !== '' ? `unix:path=${runtimeDir}/bus` : undefined;
}

/**
 * Connects to the bus at `address` and completes the `Hello` handshake. Rejects with
 * DbusUnavailableError (never hangs, never leaves an unhandled 'error' behind).
 */
export async function openDbusConnection(address: string, options: OpenDbusOptions = {}): Promise<DbusConnection> {
  // Most servers and containers have no system bus: loading dbus-next (with xml2js) to learn that costs
  // about 5 MB of memory and a tenth of a second of CPU, so a socket file that is not there is checked first.
  const socketPath = unixSocketPath(address);
  if (socketPath !== undefined && !existsSync(socketPath)) {
    throw new DbusUnavailableError(`cannot connect to D-Bus at ${address} (no socket at ${socketPath})`);
  }
  const loaded = await loadDbusNext();
  if (loaded instanceof Error) throw new DbusUnavailableError(`dbus-next is not available (${loaded.message})`);
  const dbus = loaded;

  // dbus-next would fail on a malformed address with a TypeError from deep inside; say it plainly.
  if (!/^[a-z]+:/i.test(address)) throw new DbusUnavailableError(`malformed D-Bus address "${address}"`);
  let bus: MessageBus;
  try {
    // `sessionBus({ busAddress })` is dbus-next's generic "connect to this address" entry point; it is
    // used for the system bus too because `systemBus()` reads `process.env` rather than our `env`.
    bus = dbus.sessionBus({ busAddress: address });
  } catch (error) {
    throw new DbusUnavailableError(`cannot connect to D-Bus at ${address} (${describe(error)})`);
  }
  // Must be attached synchronously: dbus-next emits 'error' for a missing socket, and an EventEmitter
  // 'error' without a listener throws (the process would die). It stays attached for the bus' lifetime.
  const errors = new EventEmitter();
  bus.on('error', (error: unknown) => errors.emit('failure', error));

  const timeoutMs = options.timeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const onConnect = (): void => {
        cleanup();
        resolve();
      };
      const onFailure = (error: unknown): void => {
        cleanup();
        reject(error);
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        bus.off('connect', onConnect);
        errors.off('failure', onFailure);
      };
      bus.once('connect', onConnect);
      errors.once('failure', onFailure);
    });
  } catch (error) {
    safeDisconnect(bus);
    throw new DbusUnavailableError(`cannot connect to D-Bus at ${address} (${describe(error)})`);
  }
  return new NextConnection(dbus, bus, errors, options.unref === true);
}

/**
 * The socket file of a single `unix:path=` address (D-Bus escapes bytes as %XX); undefined for any other
 * transport (abstract sockets, tcp) or a list of addresses, which dbus-next is left to try.
 */
export function unixSocketPath(address: string): string | undefined {
  if (!address.startsWith('unix:') || address.includes(';')) return undefined;
  for (const pair of address.slice('unix:'.length).split(',')) {
    if (!pair.startsWith('path=')) continue;
    try {
      return decodeURIComponent(pair.slice('path='.length));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

interface PendingCall {
  resolve(reply: DbusReply): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

class NextConnection implements DbusConnection {
  readonly uniqueName: string;
  #dbus: DbusNextModule;
  #bus: MessageBus;
  #pending = new Map<number, PendingCall>();
  #signals = new EventEmitter();
  #closeListeners = new Set<() => void>();
  #seq = 0;
  #closed = false;

  constructor(dbus: DbusNextModule, bus: MessageBus, errors: EventEmitter, unref: boolean) {
    this.#dbus = dbus;
    this.#bus = bus;
    this.uniqueName = uniqueNameOf(bus);
    bus.on('message', (message: NextMessage) => this.#dispatch(message));
    // After the handshake an 'error' means the socket broke, a write hit a closed stream, or dbus-next
    // could not parse a message: in every case the connection is not trusted any more.
    errors.on('failure', () => this.close());
    const stream = socketOf(bus);
    stream?.once('close', () => this.#markClosed());
    if (unref && stream instanceof Socket) stream.unref();
  }

  get closed(): boolean {
    return this.#closed;
  }

  call(request: DbusCallRequest, timeoutMs = DEFAULT_CALL_TIMEOUT_MS): Promise<DbusReply> {
    if (this.#closed) return Promise.reject(new DbusCallError('bgtransfer.Error.Disconnected', 'connection closed'));
    const serial = this.#bus.newSerial();
    const message = new this.#dbus.Message({
      serial,
      destination: request.destination,
      path: request.path,
      interface: request.interface,
      member: request.member,
      signature: request.signature ?? '',
      body: request.body ?? [],
    });
    return new Promise<DbusReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(serial);
        reject(new DbusCallError('bgtransfer.Error.Timeout', `${request.member} got no reply in ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(serial, { resolve, reject, timer });
      try {
        // send(), not call(): the reply is matched in #dispatch, in arrival order with signals.
        this.#bus.send(message);
      } catch (error) {
        clearTimeout(timer);
        this.#pending.delete(serial);
        reject(new DbusCallError('bgtransfer.Error.Disconnected', describe(error)));
      }
    });
  }

  async addMatch(rule: string): Promise<void> {
    await this.call({
      destination: BUS_NAME,
      path: BUS_PATH,
      interface: BUS_NAME,
      member: 'AddMatch',
      signature: 's',
      body: [rule],
    });
  }

  async getNameOwner(name: string): Promise<{ owner: string | undefined; seq: number }> {
    try {
      const reply = await this.call({
        destination: BUS_NAME,
        path: BUS_PATH,
        interface: BUS_NAME,
        member: 'GetNameOwner',
        signature: 's',
        body: [name],
      });
      const owner = reply.body[0];
      return { owner: typeof owner === 'string' && owner !== '' ? owner : undefined, seq: reply.seq };
    } catch (error) {
      if (error instanceof DbusCallError && error.errorName === 'org.freedesktop.DBus.Error.NameHasNoOwner') {
        return { owner: undefined, seq: error.seq };
      }
      throw error;
    }
  }

  onSignal(listener: (signal: DbusSignal) => void): () => void {
    this.#signals.on('signal', listener);
    return () => this.#signals.off('signal', listener);
  }

  onClose(listener: () => void): () => void {
    if (this.#closed) {
      queueMicrotask(listener);
      return () => {};
    }
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  close(): void {
    safeDisconnect(this.#bus);
    this.#markClosed();
  }

  #dispatch(message: NextMessage): void {
    const seq = ++this.#seq;
    const { MessageType } = this.#dbus;
    // dbus-next types `body` as any[]; it is an array of unmarshalled values, read here as unknown.
    const body: readonly unknown[] = Array.isArray(message.body) ? message.body : [];
    if (message.type === MessageType.METHOD_RETURN || message.type === MessageType.ERROR) {
      // dbus-next types replySerial as string; on the wire (and at runtime) it is a uint32 number.
      const serial = Number(message.replySerial);
      const pending = this.#pending.get(serial);
      if (pending === undefined) return;
      this.#pending.delete(serial);
      clearTimeout(pending.timer);
      if (message.type === MessageType.ERROR) {
        const text = typeof body[0] === 'string' ? body[0] : '';
        pending.reject(new DbusCallError(message.errorName, text, seq));
      } else {
        pending.resolve({ seq, sender: message.sender ?? '', body });
      }
    } else if (message.type === MessageType.SIGNAL) {
      const signal: DbusSignal = {
        seq,
        sender: message.sender ?? '',
        path: message.path ?? '',
        interface: message.interface ?? '',
        member: message.member ?? '',
        body,
      };
      this.#signals.emit('signal', signal);
    }
  }

  #markClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [serial, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(new DbusCallError('bgtransfer.Error.Disconnected', 'connection closed'));
      this.#pending.delete(serial);
    }
    this.#signals.removeAllListeners();
    const listeners = [...this.#closeListeners];
    this.#closeListeners.clear();
    for (const listener of listeners) listener();
  }
}

/**
 * dbus-next sets `bus.name` (our unique name) when `Hello` returns, i.e. before 'connect'; its typings
 * do not declare the field, hence the runtime check.
 */
function uniqueNameOf(bus: MessageBus): string {
  const name: unknown = Reflect.get(bus, 'name');
  return typeof name === 'string' ? name : '';
}

/**
 * The socket under a dbus-next 0.10.2 MessageBus (`bus._connection.stream`, a net.Socket). Private API of
 * the pinned version, read defensively: without it only `onClose` on a silently closed socket is lost.
 */
function socketOf(bus: MessageBus): EventEmitter | undefined {
  const connection: unknown = Reflect.get(bus, '_connection');
  if (typeof connection !== 'object' || connection === null) return undefined;
  const stream: unknown = Reflect.get(connection, 'stream');
  return stream instanceof EventEmitter ? stream : undefined;
}

function safeDisconnect(bus: MessageBus): void {
  try {
    bus.disconnect();
  } catch {
    // already closed: nothing to release
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
