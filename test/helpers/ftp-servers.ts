import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { Server as NetServer, Socket as NetSocket } from 'node:net';
import { join, posix } from 'node:path';
import { pipeline, Transform, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { FileSystem, FtpSrv } from 'ftp-srv';
import { findFreePort } from './free-port.ts';
import { makeTempDir } from './temp-dir.ts';
import type { KeyPair } from './tls-certs.ts';

/**
 * FTP servers for tests: ftp-srv in-process (here), and Debian's vsftpd as a real daemon that
 * catches protocol quirks ftp-srv does not have (vsftpd.ts). Both listen on 127.0.0.1 only and
 * store into a fresh temp dir that `stop()` deletes.
 */
export interface TestFtpServer {
  readonly kind: 'ftp-srv' | 'vsftpd';
  readonly port: number;
  /** `ftp://127.0.0.1:<port>/` (the login directory; paths below it are relative, RFC 1738). */
  readonly url: string;
  /** The login directory on disk: `url + 'a/b.bin'` is stored at `join(root, 'a/b.bin')`. */
  readonly root: string;
  /**
   * A password login the server checks. ftp-srv: a user `alice`. vsftpd: unprivileged, it has anonymous
   * logins only, so `anonymous` with a required password (secure_email_list_enable) stands in.
   */
  readonly login: { userName: string; password: string };
  /**
   * Resets every session's control and data connections now, as a crashed server or a cut network
   * would; the bytes the server already took stay on disk. Resolves when the file is complete on disk.
   */
  cutSessions(): Promise<void>;
  /**
   * Makes every session stop reading, as a hung server or a stalled network would: the client's data
   * stays queued. `cutSessions()` (or `stop()`) ends them.
   */
  freezeSessions(): Promise<void>;
  /** The offsets of the REST commands the server was sent so far, in order. */
  restOffsets(): Promise<number[]>;
  /** Idempotent. */
  stop(): Promise<void>;
}

export const HOST = '127.0.0.1';
/** Each server gets its own passive range, so servers of parallel test files do not collide. */
export const PASV_RANGE = 40;
/** The free port can be taken between probing and the server's bind; a fresh port usually fixes that. */
export const START_ATTEMPTS = 3;

export function randomPasvMin(): number {
  return 30_000 + Math.floor(Math.random() * 600) * 50;
}

// ---------------------------------------------------------------------------------------- ftp-srv

export interface FtpSrvOptions {
  /** Offer explicit FTPS (AUTH TLS on the control port) with this key and certificate. */
  tls?: KeyPair;
  /** Commands answered with 502 (not implemented), e.g. ['APPE'] to play an older server. */
  disabledCommands?: string[];
  /**
   * Waits this long before each write to disk: a slow server, whose data connection holds the
   * client's data in its queues (backpressure).
   */
  writeDelayMs?: number;
  /** RETR sends at most this many bytes per second (a slow server or link, for downloads to cut). */
  readBytesPerSecond?: number;
  /** RETR after REST sends the file from byte 0 anyway (a broken server): REST is still recorded. */
  ignoreRest?: boolean;
}

/** ftp-srv's typings type connections loosely; these are the fields cutSessions needs. */
interface ConnectionSockets {
  commandSocket: NetSocket | undefined;
  dataSocket: NetSocket | undefined;
}

function socketsOf(connection: object): ConnectionSockets {
  const command: unknown = Reflect.get(connection, 'commandSocket');
  const connector: unknown = Reflect.get(connection, 'connector');
  const data: unknown = typeof connector === 'object' && connector !== null ? Reflect.get(connector, 'socket') : null;
  // A TLSSocket (after AUTH TLS) is a net.Socket too.
  return {
    commandSocket: command instanceof NetSocket ? command : undefined,
    dataSocket: data instanceof NetSocket ? data : undefined,
  };
}

/** A TCP RST; a TLS socket (AUTH TLS) has no TCP handle of its own, so it is just destroyed. */
function reset(socket: NetSocket | undefined): void {
  if (socket === undefined || socket.destroyed) return;
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

/** Files being written by STOR/APPE right now, with the connection that sends them. */
type UploadRegistry = Set<{ connection: object; stream: WriteStream }>;

/** ftp-srv's FileSystem deletes a file whose upload failed; a real server keeps it, so resuming is possible. */
class KeepingFileSystem extends FileSystem {
  readonly #uploads: UploadRegistry;
  readonly #writeDelayMs: number;
  readonly #reads: ReadOptions;

  constructor(
    connection: ConstructorParameters<typeof FileSystem>[0],
    root: string,
    uploads: UploadRegistry,
    writeDelayMs: number,
    reads: ReadOptions,
  ) {
    super(connection, { root, cwd: '/' });
    this.#uploads = uploads;
    this.#writeDelayMs = writeDelayMs;
    this.#reads = reads;
  }

  /** RETR: ftp-srv passes the REST offset as `start`; it is recorded, and the stream throttled if asked. */
  override async read(fileName: string, options: { start?: number } = {}) {
    if ((options.start ?? 0) > 0) this.#reads.restOffsets.push(options.start ?? 0);
    const { stream, clientPath } = await super.read(fileName, this.#reads.ignoreRest ? {} : options);
    const rate = this.#reads.bytesPerSecond;
    if (rate === undefined) return { stream, clientPath };
    // pipeline: when ftp-srv destroys the throttled stream (a cut connection), the file's is closed too.
    return { stream: pipeline(stream, throttle(rate), () => {}), clientPath };
  }

  override write(fileName: string, { append = false, start }: { append?: boolean; start?: number } = {}) {
    const clientPath = posix.isAbsolute(fileName) ? posix.normalize(fileName) : posix.join('/', this.cwd, fileName);
    // ftp-srv opens 'w+' even after REST, which truncates: REST+STOR would then leave zeros in front.
    const flags = append ? 'a' : start !== undefined && start > 0 ? 'r+' : 'w';
    const stream = createWriteStream(join(this.root, clientPath), { flags, start });
    if (this.#writeDelayMs > 0) slowDown(stream, this.#writeDelayMs);
    // ftp-srv's STOR signals the end of the data by emitting 'close' on the stream (as its own FileSystem expects).
    stream.once('close', () => stream.end());
    const upload = { connection: this.connection, stream };
    this.#uploads.add(upload);
    const forget = (): void => void this.#uploads.delete(upload);
    stream.once('finish', forget).once('error', forget);
    return { stream, clientPath };
  }
}

interface ReadOptions {
  bytesPerSecond: number | undefined;
  ignoreRest: boolean;
  restOffsets: number[];
}

/** Passes 16 KiB pieces on at `bytesPerSecond`. */
function throttle(bytesPerSecond: number): Transform {
  const piece = 16 * 1024;
  return new Transform({
    async transform(chunk: Buffer, _encoding, callback) {
      for (let at = 0; at < chunk.byteLength; at += piece) {
        const part = chunk.subarray(at, at + piece);
        await sleep((part.byteLength / bytesPerSecond) * 1000);
        this.push(part);
      }
      callback();
    },
  });
}

/** Delays each write of `stream` (Writable's own hooks; the instance's properties over its prototype's). */
function slowDown(stream: WriteStream, delayMs: number): void {
  const write = stream._write.bind(stream);
  const writev = stream._writev?.bind(stream);
  stream._write = (chunk, encoding, callback) => void setTimeout(() => write(chunk, encoding, callback), delayMs);
  if (writev !== undefined) {
    stream._writev = (chunks, callback) => void setTimeout(() => writev(chunks, callback), delayMs);
  }
}

/** ftp-srv's constructor adds process handlers for these that call process.exit. */
const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGQUIT'];

const SILENT_LOG = {
  child: () => SILENT_LOG,
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  fatal: () => {},
};

const ALICE = { userName: 'alice', password: 'pw-Alice-7f3e' } as const;

export async function startFtpSrv(options: FtpSrvOptions = {}): Promise<TestFtpServer> {
  const { server, port } = await listenFtpSrv(options);
  const dir = await makeTempDir('bgtransfer-ftpsrv-');

  const uploads: UploadRegistry = new Set();
  const reads: ReadOptions = {
    bytesPerSecond: options.readBytesPerSecond,
    ignoreRest: options.ignoreRest ?? false,
    restOffsets: [],
  };
  const connections = new Set<object>();
  const connectors = new Map<object, Set<object>>();
  server.on('disconnect', ({ connection }) => {
    connections.delete(connection);
    closeConnectors(connectors.get(connection));
    connectors.delete(connection);
  });
  server.on('login', ({ connection, username, password }, resolve, reject) => {
    // Sessions are known from their login on: before it, there is no upload to cut.
    connections.add(connection);
    connectors.set(connection, recordConnectors(connection));
    if (username === 'anonymous' || (username === ALICE.userName && password === ALICE.password)) {
      resolve({ fs: new KeepingFileSystem(connection, dir.path, uploads, options.writeDelayMs ?? 0, reads) });
    } else {
      reject(new Error('Login incorrect.'));
    }
  });

  let stopped: Promise<void> | undefined;
  return {
    kind: 'ftp-srv',
    port,
    url: `ftp://${HOST}:${port}/`,
    root: dir.path,
    login: { ...ALICE },
    cutSessions: () => cutFtpSrvSessions(connections, uploads),
    restOffsets: async () => [...reads.restOffsets],
    async freezeSessions() {
      for (const { connection, stream } of uploads) {
        const { dataSocket } = socketsOf(connection);
        dataSocket?.unpipe(stream);
        // Not pause(): ftp-srv's STOR calls resume() once its 150 reply is written, which may come
        // later, and would then drop the data on the floor. A sink that never takes a chunk holds the
        // socket still through backpressure, whoever resumes it.
        dataSocket?.pipe(new Writable({ highWaterMark: 1, write: () => {} }));
      }
    },
    stop() {
      stopped ??= (async () => {
        await cutFtpSrvSessions(connections, uploads);
        for (const recorded of connectors.values()) closeConnectors(recorded);
        await server.close();
        await dir.cleanup();
      })();
      return stopped;
    },
  };
}

/** Listens on a free port; another process may take it first, so a few ports are tried. */
async function listenFtpSrv(options: FtpSrvOptions): Promise<{ server: FtpSrv; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await findFreePort();
    const pasvMin = randomPasvMin();
    const signalsBefore = new Map(SIGNALS.map((name) => [name, process.listeners(name)]));
    const server = new FtpSrv({
      url: `ftp://${HOST}:${port}`,
      pasv_url: HOST,
      pasv_min: pasvMin,
      pasv_max: pasvMin + PASV_RANGE - 1,
      anonymous: true,
      greeting: 'bgtransfer test server',
      tls: options.tls === undefined ? false : { key: options.tls.key, cert: options.tls.cert },
      blacklist: options.disabledCommands ?? [],
      log: SILENT_LOG,
    });
    // ftp-srv adds process-wide SIGTERM/SIGINT/SIGQUIT handlers that call process.exit: not in a test run.
    for (const name of SIGNALS) {
      for (const listener of process.listeners(name)) {
        if (!signalsBefore.get(name)?.includes(listener)) process.off(name, listener);
      }
    }
    try {
      await server.listen();
      return { server, port };
    } catch (error) {
      if (attempt >= START_ATTEMPTS || Reflect.get(Object(error), 'code') !== 'EADDRINUSE') throw error;
    }
  }
}

/**
 * ftp-srv makes a new passive connector for every EPSV/PASV and only ever closes the latest one: a data
 * connection opened for a command the server then refused (APPE → 502) stays open, unread, and keeps
 * the test process alive. So every connector a session gets is recorded, to close them all.
 */
function recordConnectors(connection: object): Set<object> {
  const recorded = new Set<object>();
  let current: unknown = Reflect.get(connection, 'connector');
  Object.defineProperty(connection, 'connector', {
    configurable: true,
    enumerable: true,
    get: () => current,
    set: (value: unknown) => {
      current = value;
      if (typeof value === 'object' && value !== null) recorded.add(value);
    },
  });
  return recorded;
}

function closeConnectors(recorded: Set<object> | undefined): void {
  for (const connector of recorded ?? []) {
    const dataSocket: unknown = Reflect.get(connector, 'dataSocket');
    const dataServer: unknown = Reflect.get(connector, 'dataServer');
    if (dataSocket instanceof NetSocket) dataSocket.destroy();
    if (dataServer instanceof NetServer) dataServer.close();
  }
  recorded?.clear();
}

async function cutFtpSrvSessions(connections: ReadonlySet<object>, uploads: UploadRegistry): Promise<void> {
  const pending = [...uploads];
  for (const connection of connections) {
    const { commandSocket, dataSocket } = socketsOf(connection);
    for (const upload of pending) {
      if (upload.connection === connection) dataSocket?.unpipe(upload.stream);
    }
    reset(dataSocket);
    reset(commandSocket);
  }
  // What was read from the socket is in the stream: flush it and close the file.
  await Promise.all(
    pending.map(async ({ stream }) => {
      if (stream.closed) return;
      const closed = once(stream, 'close');
      stream.end();
      await closed;
    }),
  );
}
