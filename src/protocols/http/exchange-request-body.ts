import { setTimeout as delay } from 'node:timers/promises';
import { type TransferError, toTransferError } from '../../core/errors.ts';
import type { ExchangeTimers } from './exchange-timers.ts';
import type { ExchangeBody } from './exchange-types.ts';
import { ProgressThrottle } from './progress-throttle.ts';

/** What the request body needs to know about its exchange. */
export interface BodyExchange {
  timers: ExchangeTimers;
  /** Send the head with the first byte, then wait this long for an early answer (early-answer.ts). */
  earlyAnswerWaitMs: number;
  /** Resolved by `100 Continue`, the final response's head, or the end of the exchange. */
  answered: Promise<void>;
  /** Resolved when the exchange settled. */
  done: Promise<void>;
  /** True while no final response arrived and the exchange has not settled. */
  waiting(): boolean;
  /** Body bytes handed to the connection (throttled; guarded by the exchange). */
  onBytesSent(bytesSent: number): void;
}

/**
 * The request-body side of an exchange: the chunks undici pulls, the bytes sent and their progress,
 * the stall timer while they go out, and the early-answer wait after the first byte.
 */
export class RequestBody {
  readonly chunks: AsyncGenerator<Uint8Array, void, undefined>;
  readonly #exchange: BodyExchange;
  readonly #sent: ProgressThrottle;
  #bytesSent = 0;
  #error: TransferError | null = null;

  constructor(body: ExchangeBody, exchange: BodyExchange) {
    this.#exchange = exchange;
    this.#sent = new ProgressThrottle((value) => exchange.onBytesSent(value));
    this.chunks = this.#chunks(body);
  }

  get bytesSent(): number {
    return this.#bytesSent;
  }

  /** The coded error the body source threw (BT_ERR_SOURCE_CHANGED, …), which undici re-throws. */
  get error(): TransferError | null {
    return this.#error;
  }

  /** Reports the exact position (a held-back throttled value understates it). */
  flush(): void {
    this.#sent.flush(this.#bytesSent);
  }

  cancel(): void {
    this.#sent.cancel();
  }

  /**
   * Ends the generator: its `for await` closes the source (a no-op if it never started or already
   * finished; queued behind a read in progress).
   */
  async close(): Promise<void> {
    await this.chunks.return(undefined).catch(() => undefined);
  }

  /** Bytes [start, end) of the source, counted as undici pulls them (each is written at once). */
  async *#chunks(body: ExchangeBody): AsyncGenerator<Uint8Array, void, undefined> {
    const timers = this.#exchange.timers;
    const end = body.end ?? body.source.size;
    let position = body.start;
    let holdMs = this.#exchange.earlyAnswerWaitMs;
    timers.touchStall();
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
          timers.touchStall();
          if (position >= end) break;
        }
      }
    } catch (error) {
      // undici re-throws this to onResponseError; keep the coded error (BT_ERR_SOURCE_CHANGED, …).
      this.#error ??= toTransferError(error);
      throw error;
    }
    // undici asked for more after the last chunk was written: the body is fully handed over.
    timers.clearStall();
    this.#sent.flush(this.#bytesSent);
    timers.startResponse();
  }

  /**
   * Waits up to `holdMs` for `100 Continue` or the final answer (early-answer.ts); not a stall. True
   * when the final answer came (or the exchange ended): the body is not sent, and the generator stays
   * open until the exchange settled, so undici does not fail the request for a short body meanwhile.
   */
  async #waitForEarlyAnswer(holdMs: number): Promise<boolean> {
    const exchange = this.#exchange;
    exchange.timers.clearStall();
    const timer = new AbortController();
    await Promise.race([exchange.answered, delay(holdMs, undefined, { signal: timer.signal }).catch(() => undefined)]);
    timer.abort();
    if (exchange.waiting()) {
      exchange.timers.touchStall();
      return false;
    }
    await exchange.done;
    return true;
  }
}
