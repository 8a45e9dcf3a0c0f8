import type { Dispatcher } from 'undici';
import type { BodySource } from '../../source/body-source.ts';
import type { HeaderList, HeaderPairs } from './header-pairs.ts';

/** A memory sink keeps at most this much of a response body (HEAD, OPTIONS, creation answers). */
export const MEMORY_SINK_LIMIT_BYTES = 64 * 1024;

/**
 * The most of a response body an upload keeps (and a download keeps of an error answer): beyond it the
 * connection is closed and the answer kept as cut, `bodyTruncated` (docs/security.md, "What a server
 * may send"). A server must not be able to fill the user's disk by answering with a body that never
 * ends; answers to uploads are rarely more than a page of JSON. Memory and discard sinks read no more.
 */
export const RESPONSE_BODY_LIMIT_BYTES = 64 * 1024 * 1024;

/** The request body: bytes [start, end) of a source; Content-Length is end - start. */
export interface ExchangeBody {
  source: BodySource;
  start: number;
  /** One past the last byte sent; default `source.size` (a tus chunk may end earlier). */
  end?: number;
}

/** A `headers` sink's body that has not ended this long after the head closes its connection. */
export const HEADERS_SINK_BODY_GRACE_MS = 1_000;

/** Takes the body's bytes in order (a node:crypto Hash, or several behind one object). */
export interface ChunkHash {
  update(chunk: Buffer): unknown;
}

/** Where the final response's body goes, chosen when its headers arrive. */
export type ResponseSink =
  /**
   * Created or truncated; the exchange settles only after the file is closed. With `position`, the file
   * is kept and written from that byte on (a download resuming its partial file).
   */
  | {
      kind: 'file';
      path: string;
      position?: number;
      /**
       * Opened (created or truncated) as soon as the head arrives, as a `position` file is, instead of
       * at the first body byte: a download's partial file must exist even when the body is empty.
       */
      openAtHead?: true;
      /**
       * At most this many body bytes are kept; the rest is not read: the connection is closed and the
       * answer ends as a cut one (`bodyCut`), with what fits in the file.
       */
      maxBytes?: number;
      /** Fed each chunk once the file took it, in file order (a download's digest, without re-reading the file). */
      hashes?: readonly ChunkHash[];
    }
  /** The first MEMORY_SINK_LIMIT_BYTES are kept in `ExchangeResponse.body`; the rest is read and dropped. */
  | { kind: 'memory' }
  /** Read and dropped (e.g. a redirect's body), so the connection stays reusable. */
  | { kind: 'discard' }
  /**
   * Not waited for: the exchange settles on the status and headers. The body is dropped in the
   * background; if it has not ended a second later, the connection is closed. For probes, whose
   * answer is in the head: a body that never comes (lighttpd answers OPTIONS with a chunked body it
   * never sends) must not hold them up.
   */
  | { kind: 'headers' };

/** Where a final answer's body is kept for the app (R43): its operation's response file, bounded. */
export function responseBodySink(path: string): ResponseSink {
  return { kind: 'file', path, maxBytes: RESPONSE_BODY_LIMIT_BYTES };
}

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
  /**
   * Send the head with the body's first byte, then wait this long for an early final answer before
   * sending the rest (early-answer.ts). An answer in that time ends the request without the body.
   * 0 or absent: no wait.
   */
  earlyAnswerWaitMs?: number;
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
  /**
   * The connection broke after the final status and headers arrived: the answer stands (a 2xx means the
   * server accepted the request body), but its body holds only the bytes that arrived.
   */
  bodyCut: boolean;
}
