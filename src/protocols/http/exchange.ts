import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { toTransferError } from '../../core/errors.ts';
import { EXPECT_MARKER, INTERIM_CONTINUE } from '../../net/expect-continue.ts';
import { ProxyRefusedError } from '../../net/proxy-tunnel.ts';
import { RequestBody } from './exchange-request-body.ts';
import { ResponseBody } from './exchange-response-body.ts';
import { ExchangeTimers } from './exchange-timers.ts';
import { type ExchangeInput, type ExchangeResponse, HEADERS_SINK_BODY_GRACE_MS } from './exchange-types.ts';
import { type HeaderPairs, headerPairs } from './header-pairs.ts';
import { mapNetworkError } from './network-errors.ts';

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
  readonly #body: RequestBody | null;
  readonly #response: ResponseBody;
  #controller: Dispatcher.DispatchController | null = null;
  #settle: (settlement: Settlement) => void = () => {};
  #settled = false;
  /** Set when the exchange ended before undici handed us a controller: abort as soon as it does. */
  #pendingAbort: Error | null = null;
  readonly #timers: ExchangeTimers;
  #status = 0;
  #headers: HeaderPairs = [];
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
    const waiting = (): boolean => !this.#settled && this.#status === 0;
    this.#timers = new ExchangeTimers({
      method: input.method,
      url: input.url,
      hasBody: input.body !== null,
      responseTimeoutMs: input.responseTimeoutMs,
      stallTimeoutMs: input.stallTimeoutMs,
      waiting,
      bytesSent: () => this.#body?.bytesSent ?? 0,
      fail: (error) => this.#fail(error),
    });
    this.#answered = new Promise((resolve) => {
      this.#markAnswered = resolve;
    });
    this.#done = new Promise((resolve) => {
      this.#markDone = resolve;
    });
    // Guarded: the progress throttles may call back from a timer, where a throw would crash the process.
    this.#body =
      input.body === null
        ? null
        : new RequestBody(input.body, {
            timers: this.#timers,
            earlyAnswerWaitMs: input.earlyAnswerWaitMs ?? 0,
            answered: this.#answered,
            done: this.#done,
            waiting,
            onBytesSent: (value) => this.#guard(() => input.onBytesSent?.(value)),
          });
    this.#response = new ResponseBody(
      (error) => this.#fail(error),
      (value) => this.#guard(() => input.onBytesReceived?.(value)),
      () => this.#settled,
    );
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
          body: (this.#body?.chunks ?? null) as unknown as Readable | null,
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
      this.#response.choose(this.#input.chooseSink?.(statusCode, pairs) ?? { kind: 'memory' });
    } catch (error) {
      this.#fail(toTransferError(error));
      return;
    }
    if (this.#response.sink.kind === 'headers') this.#succeed();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#settled) return;
    this.#response.data(controller, chunk);
  }

  onResponseEnd(): void {
    // A `headers` sink's body arrived after all: the connection stays reusable.
    clearTimeout(this.#bodyGraceTimer);
    if (this.#settled) return;
    this.#response.end(() => this.#succeed());
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
    const bodyError = this.#body?.error ?? null;
    if (this.#status >= 200 && bodyError === null && !this.#settled) {
      // Cut while the final response's body came in: the server has answered, so the exchange is not
      // failed (a retry would send the request body again); what arrived is kept and flagged.
      this.#bodyCut = true;
      this.onResponseEnd();
      return;
    }
    this.#fail(
      bodyError ??
        mapNetworkError(error, {
          method: this.#input.method,
          url: this.#input.url,
          ...(this.#body === null ? {} : { bytesSent: this.#body.bytesSent }),
          responseStarted: this.#status !== 0,
        }),
    );
  }

  // ---- settling and cleanup ----

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
    const response = this.#response;
    this.#finish({
      ok: true,
      response: {
        status: this.#status,
        headers: this.#headers,
        sink: response.sink.kind,
        body: response.memory.bytes(),
        bodyTruncated: response.memory.truncated,
        bytesReceived: response.bytesReceived,
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
    // Report where the body stopped exactly (a held-back throttled value understates it): on failure,
    // and on success too, since the answer can come before undici pulls past the last piece, where the
    // body reports its end itself (a loaded CI machine lost a tus PATCH's last progress so).
    this.#body?.flush();
    this.#body?.cancel();
    this.#response.cancel();
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
    await this.#response.release();
    await this.#body?.close();
  }
}
