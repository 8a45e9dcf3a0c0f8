import type { Dispatcher } from 'undici';
import type { ResponseSnapshot } from '../../core/snapshot.ts';
import type { FileSourceInfo } from '../../source/file-source.ts';

/** One upload attempt over HTTP(S): a single request (plus 307/308 re-sends) with the file as raw body. */
export interface HttpUploadInput {
  url: URL;
  method: string;
  /** Request headers in order; names as the app wrote them. */
  headers: ReadonlyArray<readonly [string, string]>;
  source: FileSourceInfo;
  /** Where the final response body goes (created or truncated). */
  responseBodyPath: string;
  dispatcher: Dispatcher;
  /** Aborting rejects with `signal.reason`. */
  signal: AbortSignal;
  /** R48: no response this long after the body was fully sent → BT_ERR_TIMEOUT. */
  responseTimeoutMs: number;
  maxRedirects: number;
  /** Bytes of the current request body handed to the connection (goes back to 0 on a 307/308 re-send). */
  onBytesSent(bytesSent: number): void;
  /** Headers of the final (non-redirect) response arrived. totalBytesToReceive is Content-Length or 0 (R37). */
  onResponse(response: ResponseSnapshot, totalBytesToReceive: number): void;
  /** Response-body bytes written to responseBodyPath so far (R36). */
  onBytesReceived(bytesReceived: number): void;
}

export interface HttpUploadResult {
  /** The final response; the engine decides what its status means (2xx complete, >= 400 error). */
  response: ResponseSnapshot;
  bytesReceived: number;
}
