import { once } from 'node:events';
import { constants, createWriteStream, type WriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { TransferError, toTransferError } from '../../core/errors.ts';
import { ProxyRefusedError } from '../../net/proxy-tunnel.ts';
import type { BodySource } from '../../source/body-source.ts';
import { type HeaderList, type HeaderPairs, headerPairs } from './header-pairs.ts';
import { mapNetworkError } from './network-errors.ts';
import { ProgressThrottle } from './progress-throttle.ts';

/** A response body file is the host's own: opened without following a link or waiting on a FIFO. */
const RESPONSE_FILE_FLAGS =
  constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** A memory sink keeps at most this much of a response body (HEAD, OPTIONS, creation answers). */
export const MEMORY_SINK_LIMIT_BYTES = 64 * 1024;

/** The request body: bytes [start, end) of a source; Content-Length is end - start. */
export interface ExchangeBody {
  source: BodySource;
  start: number;
  /** One past the last byte sent; default `source.size` (a tus chunk may end earlier). */
  end?: number;
}

/** Where the final response's body goes, chosen when its headers arrive. */
export type ResponseSink =
  /** Created or truncated; the exchange settles only after the file is closed. */
  | { kind: 'file'; path: string }
  /** The first MEMORY_SINK_LIMIT_BYTES are kept in `ExchangeResponse.body`; the rest is read and dropped. */
  | { kind: 'memory' }
  /** Read and dropped (e.g. a redirect's body), so the connection stays reusable. */
  | { kind: 'discard' };

export interface ExchangeInput {
  url: URL;
  method: string;
  /** Sent as given, in order (the caller removes client-owned headers); Content-Length is added for a body. */
  headers: HeaderList;
  body: ExchangeBody | null;
  dispatcher: Dispatcher;
  /** Aborting rejects with `signal.reason`. */
  signal: AbortSignal;
  /** R48: no response this long after the body was sent (or, without a body, the request) → BT_ERR_TIMEOUT. */
  responseTimeoutMs: number;
  /** While the body is sent: no bytes accepted by the connection this long → BT_ERR_STALLED. 0 = off. */
  stallTimeoutMs: number;
  /**
   * Called once with the final (>= 200) status and headers; returns where the body goes (default memory).
   * A throw fails the exchange with that error (a TransferError stays as it is) and aborts the request.
   */
  chooseSink?(status: number, headers: HeaderPairs): ResponseSink;
  /** Each 1xx response (e.g. the draft's 104 Upload Resumption Supported) with its headers. */
  onInformational?(status: number, headers: HeaderPairs): void;
  /** Body bytes handed to the connection so far (throttled; exact at the end). */
  onBytesSent?(bytesSent: number): void;
  /** Response-body bytes written to a file sink so far (throttled; exact at the end). */
  onBytesReceived?(bytesReceived: number): void;
}

export interface ExchangeResponse {
  status: number;
  /** As received: case and order kept (R45). */
  headers: HeaderPairs;
  sink: ResponseSink['kind'];
  /** Memory sink: the body's first MEMORY_SINK_LIMIT_BYTES; otherwise empty. */
  body: Buffer;
  bodyTruncated: boolean;
  /** Body bytes received (for a file sink: written to the file). */
  bytesReceived: number;
}

/**
 * One HTTP request and its final response over `input.dispatcher`. Rejects with a TransferError
 * (network errors mapped, BT_ERR_TIMEOUT, BT_ERR_STALLED, BT_ERR_IO, body errors such as
 * BT_ERR_SOURCE_CHANGED, or what `chooseSink` threw), or with `signal.reason` when aborted.
 */
export function exchange(input: ExchangeInput): Promise<ExchangeResponse> {
  try {
    input.signal.throwIfAborted();
  } catch (reason) {
    return Promise.reject(reason);
  }
  return new Exchange(input).run();
}

type Settlement = { ok: true; response: ExchangeResponse } | { ok: false; error: unknown };

/**
 * The undici dispatch handler. The controller API (`onRequestStart`/`onResponseStart`/…) is used
 * because `controller.rawHeaders` carries the headers exactly as received (R45), and because 1xx
 * responses reach `onResponseStart` too (undici's `request()` hides them; dependencies.md §2).
 */
class Exchange implements Dispatcher.DispatchHandler {
  readonly #input: ExchangeInput;
  readonly #body: AsyncGenerator<Uint8Array, void, undefined> | null;
  readonly #sent: ProgressThrottle;
  readonly #received: ProgressThrottle;
  #controller: Dispatcher.DispatchController | null = null;
  #settle: (settlement: Settlement) => void = () => {};
  #settled = false;
  /** Set when the exchange ended before undici handed us a controller: abort as soon as it does. */
  #pendingAbort: Error | null = null;
  #bodyError: TransferError | null = null;
  #bytesSent = 0;
  #responseTimer: NodeJS.Timeout | undefined;
  #stallTimer: NodeJS.Timeout | undefined;
  #lastAcceptedAt = 0;
  #status = 0;
  #headers: HeaderPairs = [];
  #sink: ResponseSink = { kind: 'memory' };
  #file: WriteStream | null = null;
  #memory: Buffer[] = [];
  #memoryBytes = 0;
  #truncated = false;
  #bytesReceived = 0;
  #waitingForDrain = false;

  constructor(input: ExchangeInput) {
    this.#input = input;
    this.#body = input.body === null ? null : this.#bodyChunks(input.body);
    // Guarded: the throttles may call back from a timer, where a throw would crash the process.
    this.#sent = new ProgressThrottle((value) => this.#guard(() => input.onBytesSent?.(value)));
    this.#received = new ProgressThrottle((value) => this.#guard(() => input.onBytesReceived?.(value)));
  }

  run(): Promise<ExchangeResponse> {
    return new Promise<ExchangeResponse>((resolve, reject) => {
      this.#settle = (settlement) => (settlement.ok ? resolve(settlement.response) : reject(settlement.error));
      this.#input.signal.addEventListener('abort', this.#onAbort, { once: true });
      const { url, body } = this.#input;
      const headers = this.#input.headers.flat();
      if (body !== null) headers.push('content-length', String((body.end ?? body.source.size) - body.start));
      this.#input.dispatcher.dispatch(
        {
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: this.#input.method,
          headers,
          // undici pulls an async iterable one chunk at a time and waits for 'drain' between chunks
          // (client-h1 writeIterable), so memory stays at one chunk however big the body is. Its
          // typings only list Readable, but lib/core/request.js accepts any (async) iterable.
          body: this.#body as unknown as Readable | null,
          // R48 and the stall timer are our own (R48 starts when the body is sent, not when the
          // request starts); undici's headers timer would kill a slow upload, so it is off.
          headersTimeout: 0,
          bodyTimeout: Math.max(0, this.#input.responseTimeoutMs),
        },
        this,
      );
    });
  }

  // ---- undici handler ----

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#pendingAbort !== null) controller.abort(this.#pendingAbort);
    // Connected and about to write: without a body, the wait for the response (R48) starts now.
    else if (this.#body === null) this.#startResponseTimer();
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (this.#settled) return;
    const pairs = headerPairs(controller.rawHeaders, headers);
    // 1xx is informational; the server is alive, so R48 starts over.
    if (statusCode < 200) {
      this.#responseTimer?.refresh();
      this.#guard(() => this.#input.onInformational?.(statusCode, pairs));
      return;
    }
    this.#finalResponseStart(statusCode, pairs);
  }

  /** The final response's status and headers: stop the timers and choose the sink. */
  #finalResponseStart(statusCode: number, pairs: HeaderPairs): void {
    this.#clearResponseTimer();
    // The server answered (maybe before reading the whole body, e.g. 413): no more stall checks.
    this.#clearStallTimer();
    this.#status = statusCode;
    this.#headers = pairs;
    try {
      this.#sink = this.#input.chooseSink?.(statusCode, pairs) ?? { kind: 'memory' };
    } catch (error) {
      this.#fail(toTransferError(error));
      return;
    }
    if (this.#sink.kind === 'file') this.#file = this.#openResponseFile(this.#sink.path);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#settled) return;
    const length = chunk.byteLength;
    const file = this.#file;
    if (file === null) {
      this.#bytesReceived += length;
      if (this.#sink.kind === 'memory') this.#keep(chunk);
      return;
    }
    const ready = file.write(chunk, (error) => {
      if (error || this.#settled) return;
      this.#bytesReceived += length;
      this.#received.update(this.#bytesReceived);
    });
    // Backpressure: a slow disk pauses the socket instead of buffering the response in memory.
    if (!ready && !this.#waitingForDrain) {
      this.#waitingForDrain = true;
      controller.pause();
      file.once('drain', () => {
        this.#waitingForDrain = false;
        if (!this.#settled) controller.resume();
      });
    }
  }

  onResponseEnd(): void {
    if (this.#settled) return;
    const file = this.#file;
    if (file === null) {
      this.#succeed();
      return;
    }
    file.end();
    file.once('close', () => {
      if (this.#settled) return;
      this.#received.flush(this.#bytesReceived);
      this.#succeed();
    });
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    if (error instanceof ProxyRefusedError && this.#status === 0 && !this.#settled) {
      // The proxy refused the tunnel (e.g. 407): its answer is this request's final response, with
      // no body (the request never reached the origin).
      this.#finalResponseStart(error.statusCode, error.headers);
      this.onResponseEnd();
      return;
    }
    this.#fail(this.#bodyError ?? mapNetworkError(error));
  }

  // ---- body ----

  /** Bytes [start, end) of the source, counted as undici pulls them (each is written at once). */
  async *#bodyChunks(body: ExchangeBody): AsyncGenerator<Uint8Array, void, undefined> {
    const end = body.end ?? body.source.size;
    let position = body.start;
    this.#touchStallTimer();
    try {
      if (position < end) {
        for await (const chunk of body.source.read(body.start)) {
          const piece = chunk.byteLength > end - position ? chunk.subarray(0, end - position) : chunk;
          position += piece.byteLength;
          this.#bytesSent += piece.byteLength;
          this.#sent.update(this.#bytesSent);
          yield piece;
          // undici asks for the next chunk only once the connection took this one (write() returned
          // true, or 'drain'): that is the "bytes accepted" the stall timer watches.
          this.#touchStallTimer();
          if (position >= end) break;
        }
      }
    } catch (error) {
      // undici re-throws this to onResponseError; keep the coded error (BT_ERR_SOURCE_CHANGED, …).
      this.#bodyError ??= toTransferError(error);
      throw error;
    }
    // undici asked for more after the last chunk was written: the body is fully handed over.
    this.#clearStallTimer();
    this.#sent.flush(this.#bytesSent);
    this.#startResponseTimer();
  }

  // ---- timers: response (R48) and stall ----

  #startResponseTimer(): void {
    const timeoutMs = this.#input.responseTimeoutMs;
    // An early answer (e.g. 413 before the body was read) already ended the wait.
    if (this.#settled || this.#status !== 0 || !(timeoutMs > 0)) return;
    this.#responseTimer = setTimeout(() => {
      const after = this.#body === null ? 'the request was sent' : 'the request body was sent';
      this.#fail(
        new TransferError(
          'BT_ERR_TIMEOUT',
          `no response from ${this.#input.url.origin} within ${timeoutMs} ms after ${after} (R48)`,
        ),
      );
    }, timeoutMs);
  }

  #clearResponseTimer(): void {
    clearTimeout(this.#responseTimer);
    this.#responseTimer = undefined;
  }

  /**
   * (Re)starts the stall timer. A peer that stops reading (a hung server, a dead NAT mapping, a
   * proxy that holds the connection open) fills the socket buffers and then nothing moves: without
   * this the request would wait forever (tus-js-client#773, peers.md "stalls and silent hangs").
   */
  #touchStallTimer(): void {
    const timeoutMs = this.#input.stallTimeoutMs;
    if (this.#settled || this.#status !== 0 || !(timeoutMs > 0)) return;
    this.#lastAcceptedAt = performance.now();
    if (this.#stallTimer !== undefined) {
      this.#stallTimer.refresh();
      return;
    }
    this.#stallTimer = setTimeout(() => {
      const silentMs = Math.round(performance.now() - this.#lastAcceptedAt);
      this.#fail(
        new TransferError(
          'BT_ERR_STALLED',
          `the connection to ${this.#input.url.origin} accepted no request-body bytes for ${silentMs} ms ` +
            `(stallTimeoutMs ${timeoutMs}) after ${this.#bytesSent} bytes`,
        ),
      );
    }, timeoutMs);
  }

  #clearStallTimer(): void {
    clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
  }

  // ---- sinks, settling and cleanup ----

  #keep(chunk: Buffer): void {
    const room = MEMORY_SINK_LIMIT_BYTES - this.#memoryBytes;
    if (chunk.byteLength > room) this.#truncated = true;
    if (room <= 0) return;
    const piece = chunk.byteLength > room ? chunk.subarray(0, room) : chunk;
    // Copied: undici may reuse the chunk's memory after the callback.
    this.#memory.push(Buffer.from(piece));
    this.#memoryBytes += piece.byteLength;
  }

  #openResponseFile(path: string): WriteStream {
    // fs.open takes numeric flags; @types/node only declares the string form for streams.
    const file = createWriteStream(path, { flags: RESPONSE_FILE_FLAGS as unknown as string, mode: 0o600 });
    file.on('error', (error) => {
      this.#fail(
        new TransferError('BT_ERR_IO', `cannot write the response body to ${path}: ${error.message}`, { cause: error }),
      );
    });
    return file;
  }

  readonly #onAbort = (): void => {
    // The caller made the reason (a coded TransferError); it is passed on untouched.
    this.#fail(this.#input.signal.reason);
  };

  /** Runs a caller callback; a throwing callback is a bug, reported as BT_ERR_INTERNAL. */
  #guard(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.#fail(toTransferError(error));
    }
  }

  #succeed(): void {
    this.#finish({
      ok: true,
      response: {
        status: this.#status,
        headers: this.#headers,
        sink: this.#sink.kind,
        body: Buffer.concat(this.#memory),
        bodyTruncated: this.#truncated,
        bytesReceived: this.#bytesReceived,
      },
    });
  }

  #fail(error: unknown): void {
    this.#finish({ ok: false, error });
  }

  /** Settles once: stops timers and listeners, aborts the request on failure, then closes files. */
  #finish(settlement: Settlement): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#clearResponseTimer();
    this.#clearStallTimer();
    this.#input.signal.removeEventListener('abort', this.#onAbort);
    // On failure, report where the body stopped exactly (a held-back throttled value understates it).
    if (!settlement.ok) this.#sent.flush(this.#bytesSent);
    this.#sent.cancel();
    this.#received.cancel();
    if (!settlement.ok) {
      const reason = settlement.error instanceof Error ? settlement.error : new Error(String(settlement.error));
      if (this.#controller === null) this.#pendingAbort = reason;
      else if (!this.#controller.aborted) this.#controller.abort(reason);
    }
    void this.#release().then(() => this.#settle(settlement));
  }

  /** Closes the response file and the body source before the caller hears the outcome. */
  async #release(): Promise<void> {
    const file = this.#file;
    if (file !== null && !file.closed) {
      const closed = once(file, 'close').catch(() => undefined);
      file.destroy();
      await closed;
    }
    // Ends the body generator: its `for await` closes the source (a no-op if it never started or
    // already finished; queued behind a read in progress).
    await this.#body?.return(undefined).catch(() => undefined);
  }
}
