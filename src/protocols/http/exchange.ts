import { once } from 'node:events';
import type { WriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { type TransferError, toTransferError } from '../../core/errors.ts';
import { EXPECT_MARKER, INTERIM_CONTINUE } from '../../net/expect-continue.ts';
import { ProxyRefusedError } from '../../net/proxy-tunnel.ts';
import { ExchangeTimers } from './exchange-timers.ts';
import {
  type ExchangeBody,
  type ExchangeInput,
  type ExchangeResponse,
  HEADERS_SINK_BODY_GRACE_MS,
  type ResponseSink,
} from './exchange-types.ts';
import { type HeaderPairs, headerPairs } from './header-pairs.ts';
import { MemoryBody } from './memory-body.ts';
import { mapNetworkError } from './network-errors.ts';
import { ProgressThrottle } from './progress-throttle.ts';
import { openResponseFile, removeStaleResponseFile } from './response-file.ts';

export {
  type ExchangeBody,
  type ExchangeInput,
  type ExchangeResponse,
  MEMORY_SINK_LIMIT_BYTES,
  type ResponseSink,
} from './exchange-types.ts';

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
 * responses reach `onResponseStart` too (undici's `request()` hides them).
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
  readonly #timers: ExchangeTimers;
  #status = 0;
  #headers: HeaderPairs = [];
  #sink: ResponseSink = { kind: 'memory' };
  #file: WriteStream | null = null;
  readonly #memory = new MemoryBody();
  #bytesReceived = 0;
  #waitingForDrain = false;
  #bodyCut = false;
  #bodyGraceTimer: NodeJS.Timeout | undefined;
  /** Resolved by `100 Continue`, the final response's head, or the end of the exchange (ends an early-answer wait). */
  readonly #answered: Promise<void>;
  #markAnswered: () => void = () => {};
  /** Resolved when the exchange settled. */
  readonly #done: Promise<void>;
  #markDone: () => void = () => {};

  constructor(input: ExchangeInput) {
    this.#input = input;
    this.#timers = new ExchangeTimers({
      method: input.method,
      url: input.url,
      hasBody: input.body !== null,
      responseTimeoutMs: input.responseTimeoutMs,
      stallTimeoutMs: input.stallTimeoutMs,
      waiting: () => !this.#settled && this.#status === 0,
      bytesSent: () => this.#bytesSent,
      fail: (error) => this.#fail(error),
    });
    this.#answered = new Promise((resolve) => {
      this.#markAnswered = resolve;
    });
    this.#done = new Promise((resolve) => {
      this.#markDone = resolve;
    });
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
      if (body !== null && (this.#input.earlyAnswerWaitMs ?? 0) > 0) headers.push(EXPECT_MARKER, '100-continue');
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
    else if (this.#body === null) this.#timers.startResponse();
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (this.#settled) return;
    const pairs = headerPairs(controller.rawHeaders, headers);
    // 1xx is informational; the server is alive, so R48 starts over.
    if (statusCode === INTERIM_CONTINUE) {
      // `100 Continue` (expect-continue.ts): the server wants the body.
      this.#markAnswered();
      return;
    }
    if (statusCode < 200) {
      this.#timers.refreshResponse();
      this.#guard(() => this.#input.onInformational?.(statusCode, pairs));
      return;
    }
    this.#finalResponseStart(statusCode, pairs);
  }

  /** The final response's status and headers: stop the timers and choose the sink. */
  #finalResponseStart(statusCode: number, pairs: HeaderPairs): void {
    this.#timers.clearResponse();
    // The server answered (maybe before reading the whole body, e.g. 413): no more stall checks.
    this.#timers.clearStall();
    this.#status = statusCode;
    this.#headers = pairs;
    this.#markAnswered();
    try {
      this.#sink = this.#input.chooseSink?.(statusCode, pairs) ?? { kind: 'memory' };
    } catch (error) {
      this.#fail(toTransferError(error));
      return;
    }
    // A file sink's file is opened at the first body byte: most answers to an upload have no body, and
    // open + close per upload was a large share of a small upload's cost (readers treat no file as empty).
    // A download's partial file (a `position`) is opened now: it must exist even for an empty body.
    if (this.#sink.kind === 'file' && this.#sink.position !== undefined) {
      this.#file = openResponseFile(this.#sink.path, (error) => this.#fail(error), this.#sink.position);
    }
    if (this.#sink.kind === 'headers') this.#succeed();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#settled) return;
    const length = chunk.byteLength;
    if (this.#file === null && this.#sink.kind === 'file' && length > 0) {
      this.#file = openResponseFile(this.#sink.path, (error) => this.#fail(error));
    }
    const file = this.#file;
    if (file === null) {
      this.#bytesReceived += length;
      if (this.#sink.kind === 'memory') this.#memory.keep(chunk);
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
    // A `headers` sink's body arrived after all: the connection stays reusable.
    clearTimeout(this.#bodyGraceTimer);
    if (this.#settled) return;
    const file = this.#file;
    if (file === null) {
      const stale = this.#sink.kind === 'file' ? removeStaleResponseFile(this.#sink.path) : null;
      if (stale === null) this.#succeed();
      else this.#fail(stale);
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
    clearTimeout(this.#bodyGraceTimer);
    if (error instanceof ProxyRefusedError && this.#status === 0 && !this.#settled) {
      // The proxy refused the tunnel (e.g. 407): its answer is this request's final response, with
      // no body (the request never reached the origin).
      this.#finalResponseStart(error.statusCode, error.headers);
      this.onResponseEnd();
      return;
    }
    if (this.#status >= 200 && this.#bodyError === null && !this.#settled) {
      // Cut while the final response's body came in: the server has answered, so the exchange is not
      // failed (a retry would send the request body again); what arrived is kept and flagged.
      this.#bodyCut = true;
      this.onResponseEnd();
      return;
    }
    this.#fail(
      this.#bodyError ??
        mapNetworkError(error, {
          method: this.#input.method,
          url: this.#input.url,
          ...(this.#body === null ? {} : { bytesSent: this.#bytesSent }),
          responseStarted: this.#status !== 0,
        }),
    );
  }

  // ---- body ----

  /** Bytes [start, end) of the source, counted as undici pulls them (each is written at once). */
  async *#bodyChunks(body: ExchangeBody): AsyncGenerator<Uint8Array, void, undefined> {
    const end = body.end ?? body.source.size;
    let position = body.start;
    let holdMs = this.#input.earlyAnswerWaitMs ?? 0;
    this.#timers.touchStall();
    try {
      if (position < end) {
        for await (const chunk of body.source.read(body.start, end)) {
          let piece = chunk.byteLength > end - position ? chunk.subarray(0, end - position) : chunk;
          if (holdMs > 0 && piece.byteLength > 1) {
            // undici writes the head with the first chunk: one byte takes it out, then the wait.
            position += 1;
            this.#bytesSent += 1;
            this.#sent.update(this.#bytesSent);
            yield piece.subarray(0, 1);
            const answeredEarly = await this.#waitForEarlyAnswer(holdMs);
            holdMs = 0;
            if (answeredEarly) return;
            piece = piece.subarray(1);
          }
          position += piece.byteLength;
          this.#bytesSent += piece.byteLength;
          this.#sent.update(this.#bytesSent);
          yield piece;
          // undici asks for the next chunk only once the connection took this one (write() returned
          // true, or 'drain'): that is the "bytes accepted" the stall timer watches.
          this.#timers.touchStall();
          if (position >= end) break;
        }
      }
    } catch (error) {
      // undici re-throws this to onResponseError; keep the coded error (BT_ERR_SOURCE_CHANGED, …).
      this.#bodyError ??= toTransferError(error);
      throw error;
    }
    // undici asked for more after the last chunk was written: the body is fully handed over.
    this.#timers.clearStall();
    this.#sent.flush(this.#bytesSent);
    this.#timers.startResponse();
  }

  /**
   * Waits up to `holdMs` for `100 Continue` or the final answer (early-answer.ts); not a stall. True
   * when the final answer came (or the exchange ended): the body is not sent, and the generator stays
   * open until the exchange settled, so undici does not fail the request for a short body meanwhile.
   */
  async #waitForEarlyAnswer(holdMs: number): Promise<boolean> {
    this.#timers.clearStall();
    const timer = new AbortController();
    await Promise.race([this.#answered, delay(holdMs, undefined, { signal: timer.signal }).catch(() => undefined)]);
    timer.abort();
    if (this.#status === 0 && !this.#settled) {
      this.#timers.touchStall();
      return false;
    }
    await this.#done;
    return true;
  }

  // ---- sinks, settling and cleanup ----

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
        body: this.#memory.bytes(),
        bodyTruncated: this.#memory.truncated,
        bytesReceived: this.#bytesReceived,
        bodyCut: this.#bodyCut,
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
    this.#markAnswered();
    this.#markDone();
    this.#timers.clearResponse();
    this.#timers.clearStall();
    this.#input.signal.removeEventListener('abort', this.#onAbort);
    // On failure, report where the body stopped exactly (a held-back throttled value understates it).
    if (!settlement.ok) this.#sent.flush(this.#bytesSent);
    this.#sent.cancel();
    this.#received.cancel();
    const controller = this.#controller;
    if (settlement.ok && settlement.response.sink === 'headers' && controller !== null) {
      // The body is read and dropped in the background so the connection can be reused; one that has
      // not ended after the grace period (maybe never comes) goes with the connection.
      this.#bodyGraceTimer = setTimeout(() => {
        if (!controller.aborted) controller.abort(new Error('response body not needed'));
      }, HEADERS_SINK_BODY_GRACE_MS);
      this.#bodyGraceTimer.unref();
    } else if (!settlement.ok) {
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
