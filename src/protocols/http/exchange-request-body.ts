import { setTimeout as delay } from 'node:timers/promises';
import { type TransferError, toTransferError } from '../../core/errors.ts';
import { CHUNK_BYTES } from '../../source/file-source.ts';
import type { ExchangeTimers } from './exchange-timers.ts';
import type { ExchangeBody } from './exchange-types.ts';
import { ProgressThrottle } from './progress-throttle.ts';

/** The largest piece handed to undici (one socket write). */
export const MAX_PIECE_BYTES = CHUNK_BYTES;
/** A piece must be taken within stallTimeoutMs / STALL_SHARE at the pace the link showed. */
const STALL_SHARE = 4;
/** Bytes sent before pieces are joined: more than a socket's send buffer takes (4 MiB by default on Linux). */
export const JOIN_AFTER_BYTES = 16 * 1024 * 1024;

/** Whether `next` continues `pending` in memory and joining them stays within one read buffer and `limit`. */
function continues(pending: Uint8Array, next: Uint8Array, limit: number): boolean {
  if (next.buffer !== pending.buffer || next.byteOffset !== pending.byteOffset + pending.byteLength) return false;
  const joined = pending.byteLength + next.byteLength;
  if (joined > limit) return false;
  return (
    Math.floor(pending.byteOffset / CHUNK_BYTES) === Math.floor((next.byteOffset + next.byteLength - 1) / CHUNK_BYTES)
  );
}

/**
 * The size the next piece may have (0: the source's own pieces): what the link took within
 * stallTimeoutMs / STALL_SHARE, at the slower of its pace over the last piece (`bytes` taken in
 * `tookMs`) and over the whole body so far (`sentBytes` in `sendingMs`). Nothing is joined before
 * JOIN_AFTER_BYTES went out: the first megabytes fill the kernel's socket buffer at memory speed,
 * whatever the link, and would make a slow link look fast.
 */
export function pieceBudget(pace: {
  bytes: number;
  tookMs: number;
  sentBytes: number;
  sendingMs: number;
  stallTimeoutMs: number;
}): number {
  if (pace.sentBytes < JOIN_AFTER_BYTES) return 0;
  if (!(pace.stallTimeoutMs > 0)) return MAX_PIECE_BYTES;
  const recent = pace.bytes / Math.max(pace.tookMs, 0.1);
  const overall = pace.sentBytes / Math.max(pace.sendingMs, 0.1);
  return Math.min(MAX_PIECE_BYTES, Math.floor(Math.min(recent, overall) * (pace.stallTimeoutMs / STALL_SHARE)));
}

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
  /** Joined pieces up to this size (#pace); the source's own pieces until the link's pace is known. */
  #pieceBytes = 0;
  #paced = 0;
  #firstHandedAt: number | undefined;

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

  /** The exchange settled: its count is final (flushed before), later pulls report nothing. */
  cancel(): void {
    this.#sent.close();
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
        for await (const chunk of this.#joined(body.source.read(body.start, end))) {
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
          const handedAt = performance.now();
          yield piece;
          // undici asks for the next chunk only once the connection took this one (write() returned
          // true, or 'drain'): that is the "bytes accepted" the stall timer watches.
          timers.touchStall();
          this.#pace(piece.byteLength, performance.now() - handedAt);
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

  /** The link's pace after each piece: the size the next one may have (pieceBudget). */
  #pace(bytes: number, tookMs: number): void {
    const now = performance.now();
    this.#firstHandedAt ??= now - tookMs;
    this.#paced += bytes;
    this.#pieceBytes = pieceBudget({
      bytes,
      tookMs,
      sentBytes: this.#paced,
      sendingMs: now - this.#firstHandedAt,
      stallTimeoutMs: this.#exchange.timers.stallTimeoutMs,
    });
  }

  /**
   * The source's pieces, adjacent ones joined into one of at most #pieceBytes: one socket write and
   * one turn of undici's loop per MiB instead of per 256 KiB piece (17% less CPU for a big body) while
   * the link is fast. A slow link keeps small pieces, so that each is taken within a quarter of
   * stallTimeoutMs and the stall timer, which watches pieces taken, never mistakes it for a stall.
   * Only views that continue each other in one buffer are joined, and never across a multiple of
   * CHUNK_BYTES in it: a read buffer (file-source.ts) is never held past the pull of the next read's
   * first piece, as a lent chunk must not be.
   */
  async *#joined(pieces: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
    let pending: Uint8Array | null = null;
    for await (const piece of pieces) {
      if (pending !== null && continues(pending, piece, this.#pieceBytes)) {
        pending = new Uint8Array(pending.buffer, pending.byteOffset, pending.byteLength + piece.byteLength);
      } else {
        if (pending !== null) yield pending;
        pending = piece;
      }
      // Held back only while it may still grow: until the pace is known every piece goes at once, so a
      // source that waits before its next piece (the IETF 104 gate after the first byte) is not pulled early.
      if (pending.byteLength >= this.#pieceBytes) {
        yield pending;
        pending = null;
      }
    }
    if (pending !== null) yield pending;
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
