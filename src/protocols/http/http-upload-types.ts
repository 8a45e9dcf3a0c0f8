import type { Dispatcher } from 'undici';
import type { ResponseSnapshot } from '../../core/snapshot.ts';
import type { HttpCredential } from '../../net/basic-auth.ts';
import type { BodySource } from '../../source/body-source.ts';
import type { HeaderList, HeaderPairs } from './header-pairs.ts';

interface HttpUploadCommon {
  url: URL;
  method: string;
  /** Request headers in order; names as the app wrote them. */
  headers: HeaderList;
  /** Where the final response body goes (created or truncated). */
  responseBodyPath: string;
  dispatcher: Dispatcher;
  /** Aborting rejects with `signal.reason`. */
  signal: AbortSignal;
  /** R48: no response this long after the body was fully sent → BT_ERR_TIMEOUT. */
  responseTimeoutMs: number;
  /** No body bytes accepted by the connection this long while sending → BT_ERR_STALLED. 0 or absent = off. */
  stallTimeoutMs?: number;
  maxRedirects: number;
  /**
   * R65 `serverCredential`: Basic sent preemptively, Digest when the server asks for it; only to the
   * origin of `url`, never after a cross-origin redirect, never when `headers` has an Authorization.
   */
  credentials?: HttpCredential | null;
  /** Bytes of the current request body handed to the connection (goes back to 0 on a 307/308 or authentication re-send). */
  onBytesSent(bytesSent: number): void;
  /** Headers of the final (non-redirect) response arrived. totalBytesToReceive is Content-Length or 0 (R37). */
  onResponse(response: ResponseSnapshot, totalBytesToReceive: number): void;
  /** Response-body bytes written to responseBodyPath so far (R36). */
  onBytesReceived(bytesReceived: number): void;
  /** A 1xx response to the request sent to `url` (the draft's 104 carries the upload resource's Location). */
  onInformational?(status: number, headers: HeaderPairs, url: URL): void;
}

/** One upload attempt over HTTP(S): a single request (plus 307/308 re-sends) with the body as raw content. */
export interface HttpUploadInput extends HttpUploadCommon {
  body: BodySource;
  /** First byte sent (default 0); Content-Length is `body.size - bodyStart`. */
  bodyStart?: number;
  /** The body is about to be sent again from byte 0 (its Repr-Digest was rejected): R38's hasRestarted. */
  onRestart?(): void;
}

export interface HttpUploadResult {
  /** The final response; the engine decides what its status means (2xx complete, >= 400 error). */
  response: ResponseSnapshot;
  /** The method of the request that got `response` (a tus PATCH or POST, not the app's method). */
  requestMethod: string;
  bytesReceived: number;
}
