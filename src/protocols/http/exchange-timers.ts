import { TransferError } from '../../core/errors.ts';
import { formatBytes, requestMessage } from './request-messages.ts';

/** What the timers need to know about their exchange. */
export interface TimedExchange {
  method: string;
  url: URL;
  hasBody: boolean;
  responseTimeoutMs: number;
  stallTimeoutMs: number;
  /** False once the final response arrived or the exchange settled: no timer starts then. */
  waiting(): boolean;
  bytesSent(): number;
  fail(error: TransferError): void;
}

/** The response timer (R48) and the stall timer of one exchange. */
export class ExchangeTimers {
  readonly #exchange: TimedExchange;
  #responseTimer: NodeJS.Timeout | undefined;
  #stallTimer: NodeJS.Timeout | undefined;
  #lastAcceptedAt = 0;

  constructor(exchange: TimedExchange) {
    this.#exchange = exchange;
  }

  get stallTimeoutMs(): number {
    return this.#exchange.stallTimeoutMs;
  }

  /** R48: the wait for the response starts when the request (body) was sent. */
  startResponse(): void {
    const exchange = this.#exchange;
    const timeoutMs = exchange.responseTimeoutMs;
    // An early answer (e.g. 413 before the body was read) already ended the wait.
    if (!exchange.waiting() || !(timeoutMs > 0)) return;
    this.#responseTimer = setTimeout(() => {
      const after = exchange.hasBody ? 'the whole body was sent' : 'the request was sent';
      exchange.fail(
        new TransferError(
          'BT_ERR_TIMEOUT',
          requestMessage(exchange.method, exchange.url, `no response within ${timeoutMs} ms after ${after} (R48)`),
        ),
      );
    }, timeoutMs);
  }

  /** A 1xx shows the server is alive: R48 starts over. */
  refreshResponse(): void {
    this.#responseTimer?.refresh();
  }

  clearResponse(): void {
    clearTimeout(this.#responseTimer);
    this.#responseTimer = undefined;
  }

  /**
   * (Re)starts the stall timer. A peer that stops reading (a hung server, a dead NAT mapping, a
   * proxy that holds the connection open) fills the socket buffers and then nothing moves: without
   * this the request would wait forever.
   */
  touchStall(): void {
    const exchange = this.#exchange;
    const timeoutMs = exchange.stallTimeoutMs;
    if (!exchange.waiting() || !(timeoutMs > 0)) return;
    this.#lastAcceptedAt = performance.now();
    if (this.#stallTimer !== undefined) {
      this.#stallTimer.refresh();
      return;
    }
    this.#stallTimer = setTimeout(() => {
      const silentMs = Math.round(performance.now() - this.#lastAcceptedAt);
      exchange.fail(
        new TransferError(
          'BT_ERR_STALLED',
          requestMessage(
            exchange.method,
            exchange.url,
            `the connection accepted no more of the body for ${silentMs} ms (stallTimeoutMs ${timeoutMs}) ` +
              `after ${formatBytes(exchange.bytesSent())}`,
          ),
        ),
      );
    }, timeoutMs);
  }

  clearStall(): void {
    clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
  }

  clearAll(): void {
    this.clearResponse();
    this.clearStall();
  }
}
