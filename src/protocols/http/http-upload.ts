import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { TransferError, toTransferError } from '../../core/errors.ts';
import type { ResponseSnapshot } from '../../core/snapshot.ts';
import { readFileBody } from '../../source/file-source.ts';
import type { HttpUploadInput, HttpUploadResult } from './http-upload-types.ts';
import { mapNetworkError } from './network-errors.ts';

type HeaderList = ReadonlyArray<readonly [string, string]>;

/** Progress callbacks fire at most this often, plus one exact call at the end. */
const PROGRESS_INTERVAL_MS = 50;

/** 307/308 keep method and body: the whole request is sent again to the new location. */
const RESEND_STATUSES: ReadonlySet<number> = new Set([307, 308]);
/** These would turn the upload into a GET or drop its body, so they fail the upload instead. */
const REFUSED_REDIRECT_STATUSES: ReadonlySet<number> = new Set([300, 301, 302, 303, 305]);
/** Framing and hop-by-hop headers belong to the HTTP client (undici computes or rejects them). */
const CLIENT_OWNED_HEADERS: ReadonlySet<string> = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
]);
/** Never sent to an origin the app did not address; `host` would name the old origin. */
const ORIGIN_BOUND_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'host']);

/**
 * Uploads `input.source` as the raw body of one HTTP(S) request and returns the final response.
 * 307/308 re-send the whole body to the new location (up to `maxRedirects`); 300–305 fail with
 * BT_ERR_REDIRECT_NOT_ALLOWED; every other status is returned for the caller to judge.
 * Rejects with a TransferError, or with `input.signal.reason` when aborted.
 */
export async function uploadHttp(input: HttpUploadInput): Promise<HttpUploadResult> {
  input.signal.throwIfAborted();
  let url = new URL(input.url.href);
  let headers: HeaderList = input.headers.filter(([name]) => !CLIENT_OWNED_HEADERS.has(name.toLowerCase()));
  for (let redirects = 0; ; redirects += 1) {
    const outcome = await new UploadExchange(input, url, headers).run();
    if (outcome.kind === 'final') return outcome.result;
    if (redirects >= input.maxRedirects) {
      throw new TransferError(
        'BT_ERR_TOO_MANY_REDIRECTS',
        `more than ${input.maxRedirects} redirects (last: ${outcome.status} from ${url.href})`,
      );
    }
    const next = redirectTarget(url, outcome.status, outcome.location);
    if (next.origin !== url.origin) {
      headers = headers.filter(([name]) => !ORIGIN_BOUND_HEADERS.has(name.toLowerCase()));
    }
    url = next;
    input.signal.throwIfAborted();
    // The re-sent request starts its body from byte 0 again.
    input.onBytesSent(0);
  }
}

function redirectTarget(current: URL, status: number, location: string | undefined): URL {
  if (location === undefined || location === '') {
    throw new TransferError('BT_ERR_INVALID_RESPONSE', `${status} redirect from ${current.href} has no Location`);
  }
  let next: URL;
  try {
    next = new URL(location, current);
  } catch (error) {
    throw new TransferError('BT_ERR_INVALID_RESPONSE', `${status} redirect to an invalid Location: ${location}`, {
      cause: error,
    });
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    throw new TransferError('BT_ERR_INVALID_RESPONSE', `${status} redirect to a non-HTTP location: ${next.href}`);
  }
  if (current.protocol === 'https:' && next.protocol === 'http:') {
    throw new TransferError('BT_ERR_INSECURE_REDIRECT', `https request redirected to plain http: ${next.href}`);
  }
  return next;
}

type ExchangeOutcome =
  | { kind: 'final'; result: HttpUploadResult }
  | { kind: 'redirect'; status: number; location: string | undefined };

type Settlement = { ok: true; outcome: ExchangeOutcome } | { ok: false; error: unknown };

/**
 * Calls `emit` at most every PROGRESS_INTERVAL_MS. A value held back is emitted when the interval
 * ends, so a stalled transfer still reports where it stopped; `flush` reports the exact final value.
 */
class ProgressThrottle {
  readonly #emit: (value: number) => void;
  #lastAt = Number.NEGATIVE_INFINITY;
  #lastValue = -1;
  #latest = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(emit: (value: number) => void) {
    this.#emit = emit;
  }

  update(value: number): void {
    this.#latest = value;
    const wait = this.#lastAt + PROGRESS_INTERVAL_MS - performance.now();
    if (wait <= 0) this.#report();
    else this.#timer ??= setTimeout(() => this.#report(), wait);
  }

  flush(value: number): void {
    this.#latest = value;
    this.#report();
  }

  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #report(): void {
    this.cancel();
    this.#lastAt = performance.now();
    if (this.#latest === this.#lastValue) return;
    this.#lastValue = this.#latest;
    this.#emit(this.#latest);
  }
}

/**
 * One request/response exchange, as an undici dispatch handler. The controller API
 * (`onRequestStart`/`onResponseStart`/…) is used because `controller.rawHeaders` carries the
 * response headers exactly as received, case and order kept (R45); the parsed object is lower-cased.
 */
class UploadExchange implements Dispatcher.DispatchHandler {
  readonly #input: HttpUploadInput;
  readonly #url: URL;
  readonly #headers: HeaderList;
  readonly #body: AsyncGenerator<Uint8Array, void, undefined>;
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
  #status = 0;
  #location: string | undefined;
  #snapshot: ResponseSnapshot | null = null;
  #file: WriteStream | null = null;
  #bytesReceived = 0;
  #waitingForDrain = false;

  constructor(input: HttpUploadInput, url: URL, headers: HeaderList) {
    this.#input = input;
    this.#url = url;
    this.#headers = headers;
    this.#body = this.#bodyChunks();
    // Guarded: the throttles may call back from a timer, where a throw would crash the process.
    this.#sent = new ProgressThrottle((value) => this.#guard(() => input.onBytesSent(value)));
    this.#received = new ProgressThrottle((value) => this.#guard(() => input.onBytesReceived(value)));
  }

  run(): Promise<ExchangeOutcome> {
    return new Promise<ExchangeOutcome>((resolve, reject) => {
      this.#settle = (settlement) => (settlement.ok ? resolve(settlement.outcome) : reject(settlement.error));
      this.#input.signal.addEventListener('abort', this.#onAbort, { once: true });
      const url = this.#url;
      this.#input.dispatcher.dispatch(
        {
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: this.#input.method,
          headers: [...this.#headers.flat(), 'content-length', String(this.#input.source.size)],
          // undici pulls an async iterable one chunk at a time and waits for 'drain' between chunks
          // (client-h1 writeIterable), so memory stays at one chunk however big the file is. Its
          // typings only list Readable, but lib/core/request.js accepts any (async) iterable.
          body: this.#body as unknown as Readable,
          // R48 is our own timer (it starts when the body is sent, not when the request starts);
          // undici's headers timer would kill a slow upload, so it is off.
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
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (this.#settled) return;
    // 1xx (e.g. 104 upload-resumption) is informational; the server is alive, so R48 starts over.
    if (statusCode < 200) {
      this.#responseTimer?.refresh();
      return;
    }
    this.#clearResponseTimer();
    this.#status = statusCode;
    const pairs = headerPairs(controller.rawHeaders, headers);
    if (RESEND_STATUSES.has(statusCode)) {
      this.#location = pairs.find(([name]) => name.toLowerCase() === 'location')?.[1];
      return;
    }
    if (REFUSED_REDIRECT_STATUSES.has(statusCode)) {
      this.#fail(
        new TransferError(
          'BT_ERR_REDIRECT_NOT_ALLOWED',
          `${statusCode} redirect of a ${this.#input.method} upload from ${this.#url.href} (the body would be dropped)`,
          { httpStatus: statusCode },
        ),
      );
      return;
    }
    // R44: actualUri is where the final response came from, after any 307/308.
    const snapshot: ResponseSnapshot = { statusCode, actualUri: this.#url.href, isResumable: false, headers: pairs };
    this.#snapshot = snapshot;
    this.#file = this.#openResponseFile();
    const length = Number(pairs.find(([name]) => name.toLowerCase() === 'content-length')?.[1]);
    this.#guard(() => this.#input.onResponse(snapshot, Number.isSafeInteger(length) && length > 0 ? length : 0));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const file = this.#file;
    // Redirect bodies are read and dropped (the connection stays usable).
    if (this.#settled || file === null) return;
    const length = chunk.byteLength;
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
    const response = this.#snapshot;
    if (file === null || response === null) {
      this.#succeed({ kind: 'redirect', status: this.#status, location: this.#location });
      return;
    }
    file.end();
    file.once('close', () => {
      if (this.#settled) return;
      this.#received.flush(this.#bytesReceived);
      this.#succeed({ kind: 'final', result: { response, bytesReceived: this.#bytesReceived } });
    });
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    this.#fail(this.#bodyError ?? mapNetworkError(error));
  }

  // ---- body ----

  /** The file as request body, counting bytes as undici pulls them (each is written at once). */
  async *#bodyChunks(): AsyncGenerator<Uint8Array, void, undefined> {
    try {
      for await (const chunk of readFileBody(this.#input.source)) {
        this.#bytesSent += chunk.byteLength;
        this.#sent.update(this.#bytesSent);
        yield chunk;
      }
    } catch (error) {
      // undici re-throws this to onResponseError; keep the coded error (BT_ERR_SOURCE_CHANGED, …).
      this.#bodyError ??= toTransferError(error);
      throw error;
    }
    // undici asked for more after the last chunk was written: the body is fully handed over.
    this.#sent.flush(this.#bytesSent);
    this.#startResponseTimer();
  }

  // ---- response timer (R48) ----

  #startResponseTimer(): void {
    const timeoutMs = this.#input.responseTimeoutMs;
    // An early answer (e.g. 413 before the body was read) already ended the wait.
    if (this.#settled || this.#status !== 0 || !(timeoutMs > 0)) return;
    this.#responseTimer = setTimeout(() => {
      this.#fail(
        new TransferError(
          'BT_ERR_TIMEOUT',
          `no response from ${this.#url.origin} within ${timeoutMs} ms after the request body was sent (R48)`,
        ),
      );
    }, timeoutMs);
  }

  #clearResponseTimer(): void {
    clearTimeout(this.#responseTimer);
    this.#responseTimer = undefined;
  }

  // ---- settling and cleanup ----

  #openResponseFile(): WriteStream {
    const path = this.#input.responseBodyPath;
    const file = createWriteStream(path, { flags: 'w' });
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

  #succeed(outcome: ExchangeOutcome): void {
    this.#finish({ ok: true, outcome });
  }

  #fail(error: unknown): void {
    this.#finish({ ok: false, error });
  }

  /** Settles once: stops timers and listeners, aborts the request on failure, then closes files. */
  #finish(settlement: Settlement): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#clearResponseTimer();
    this.#sent.cancel();
    this.#received.cancel();
    this.#input.signal.removeEventListener('abort', this.#onAbort);
    if (!settlement.ok) {
      const reason = settlement.error instanceof Error ? settlement.error : new Error(String(settlement.error));
      if (this.#controller === null) this.#pendingAbort = reason;
      else if (!this.#controller.aborted) this.#controller.abort(reason);
    }
    void this.#release().then(() => this.#settle(settlement));
  }

  /** Closes the response file and the source file handle before the caller hears the outcome. */
  async #release(): Promise<void> {
    const file = this.#file;
    if (file !== null && !file.closed) {
      const closed = once(file, 'close').catch(() => undefined);
      file.destroy();
      await closed;
    }
    // Ends the body generator: its `finally` closes the source file handle (a no-op if it never
    // started or already finished; queued behind a read in progress).
    await this.#body.return(undefined).catch(() => undefined);
  }
}

/** Response headers as received (R45), falling back to undici's parsed object if raw ones are missing. */
function headerPairs(raw: unknown, parsed: Record<string, string | string[] | undefined>): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  if (Array.isArray(raw)) {
    for (let index = 0; index + 1 < raw.length; index += 2) {
      pairs.push([latin1(raw[index]), latin1(raw[index + 1])]);
    }
    return pairs;
  }
  for (const [name, value] of Object.entries(parsed)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) pairs.push([name, item]);
  }
  return pairs;
}

function latin1(value: unknown): string {
  if (Buffer.isBuffer(value)) return value.toString('latin1');
  return String(value);
}
