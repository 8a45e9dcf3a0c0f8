import type { Dispatcher } from 'undici';
import type { ResponseSnapshot } from '../../core/snapshot.ts';
import type { HttpCredential } from '../../net/basic-auth.ts';
import type { BodySource } from '../../source/body-source.ts';
import type { HeaderList } from './header-pairs.ts';

/** What the engine stores durably to resume an upload in a later attempt or process. */
export interface ResumableSession {
  /** The upload resource: tus `Location` of the creation, or the draft's 104 `Location`. */
  uploadUrl: string;
  /** IETF draft: when the server said the upload resource expires (Upload-Limit max-age/expires), ms since the epoch. */
  expiresAtMs?: number | null;
}

/** One attempt of an upload through a resumable protocol (tus 1.0 or the IETF draft). */
export interface ResumableUploadInput {
  /** tus: the creation endpoint; IETF draft: the target URI of the app's request. */
  endpoint: URL;
  /** The app's headers, sent on every request (framing and protocol headers are replaced). */
  headers: HeaderList;
  /**
   * R65 `serverCredential`, on every request to the origin of `endpoint` (creation, offset query,
   * append): Basic preemptively, Digest once challenged, one challenge for the whole attempt. Not
   * sent to another origin (e.g. a tus Location elsewhere) nor when `headers` has an Authorization.
   */
  credentials?: HttpCredential | null;
  body: BodySource;
  /** null: create a new upload; otherwise continue the stored one from the server's offset. */
  session: ResumableSession | null;
  dispatcher: Dispatcher;
  /** Aborting rejects with `signal.reason`. */
  signal: AbortSignal;
  /** R48, per request: no response this long after its body (or, without a body, the request) was sent. */
  responseTimeoutMs: number;
  /** No body bytes accepted by the connection this long while sending → BT_ERR_STALLED (0 = off). */
  stallTimeoutMs: number;
  /** Where the final response body goes (created or truncated). */
  responseBodyPath: string;
  /**
   * The upload resource is known: store it durably (called before any body byte is sent to it). Called
   * again with the same URL when its expiry becomes known.
   */
  onSession(uploadUrl: string, expiresAtMs?: number | null): void;
  /** The offset the server acknowledged in earlier attempts: an offset query answering less is refused. */
  acknowledgedOffset?: number;
  /** An offset the server acknowledged (HEAD, each append's answer, a 104 progress report). */
  onOffset(offset: number): void;
  /** Absolute progress: the offset the current request started at plus its bytes handed to the connection. */
  onBytesSent(bytesSent: number): void;
  /** Headers of the final response arrived; totalBytesToReceive is Content-Length or 0 (R37). */
  onResponse(response: ResponseSnapshot, totalBytesToReceive: number): void;
  /** Response-body bytes written to responseBodyPath so far (R36). */
  onBytesReceived(bytesReceived: number): void;
}

/** Options of the single-request control calls (probe, termination). */
export interface ControlOptions {
  /** R48 for this request; default 30 s. */
  responseTimeoutMs?: number;
  /** R65 `serverCredential` (Basic preemptively, Digest when challenged), as for the upload itself. */
  credentials?: HttpCredential | null;
  /**
   * The URI the app asked for: credentials go only to its origin (default: the request's own URL).
   * For a termination, the operation's requested URI, so that an upload URL on another origin gets none.
   */
  credentialScope?: URL;
}
