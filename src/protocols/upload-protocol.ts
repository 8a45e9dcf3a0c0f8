import type { Dispatcher } from 'undici';
import type { Credential, OperationExtras } from '../core/operation-extras.ts';
import type { ResponseSnapshot } from '../core/snapshot.ts';
import type { BodySource } from '../source/body-source.ts';
import type { HeaderList, HeaderPairs } from './http/header-pairs.ts';
import type { HttpUploadResult } from './http/http-upload-types.ts';

/**
 * The one seam between the engine and the ways bytes reach a server (docs/protocols.md, "Adding a
 * protocol"). The engine picks an `UploadProtocol` from the registry (registry.ts) and runs one
 * attempt through it; it never names a protocol. Each protocol folder has one adapter file that
 * implements this interface with the folder's own functions.
 */

/** The final HTTP answer of an attempt, which the engine judges (a 2xx completes, R43 keeps it). */
export type ProtocolAnswer = HttpUploadResult;

/** The server-side upload a later attempt continues, stored durably with the operation. */
export type UploadSession = NonNullable<OperationExtras['session']>;

/** The app's `resumeProtocol` (docs/api/background-uploader.md): a protocol's name, or "auto". */
export type ResumeChoice = OperationExtras['resumeProtocol'];

/**
 * What one endpoint speaks, as the endpoint memory keeps it under "auto" (the engine adds when it
 * was learned and when it expires). `plain`: no resumable protocol answered.
 */
export interface LearnedEndpoint {
  protocol: 'tus' | 'ietf' | 'plain';
  tusExtensions?: string[];
  tusMaxSize?: number;
  tusSha256Checksum?: boolean;
  ietfInteropVersion?: number;
}

/** The answer of an endpoint probe; `decisive` is false when it said nothing of the server (401, 5xx). */
export interface EndpointProbe {
  decisive: boolean;
  learned: LearnedEndpoint;
}

/** What a protocol can do, for the engine's choices and for the contract suite's table. */
export interface ProtocolCapabilities {
  /** A later attempt continues from the offset the server acknowledged; otherwise it restarts at byte 0 (R38). */
  resumable: boolean;
  /** The body's digest can go in a `Repr-Digest` header before the body (sendContentDigest). */
  reprDigest: boolean;
  /** A cancel removes the upload from the server (`terminate`). */
  terminates: boolean;
  /**
   * A cut creation stays an unfinished upload on the server until the last byte is out, so a POST
   * stays "creation pending" until then (when the app named the protocol). Otherwise the first byte
   * out may already be acted on.
   */
  keepsCutCreation: boolean;
}

/** One attempt, as the engine hands it to a protocol: the operation, its body, and where to report. */
export interface ProtocolAttempt {
  /** The app's URI (tus: the creation endpoint; the draft: the target URI; FTP: the file). */
  url: URL;
  method: string;
  /** The app's headers, with the body's Content-Type and, where the protocol carries it, Repr-Digest. */
  headers: HeaderPairs;
  body: BodySource;
  /** The source file's path, when the body is one (tus sends its name as metadata). */
  sourcePath: string | null;
  /** The operation's choices and what earlier attempts stored (interop version, checksum support, …). */
  extras: OperationExtras;
  /** This protocol's stored session to continue; null: create a new upload. */
  session: UploadSession | null;
  /** What the server acknowledged in earlier attempts: an offset query answering less is refused. */
  acknowledgedOffset: number;
  /** R65 `serverCredential`. */
  credentials: Credential | null;
  dispatcher: Dispatcher;
  /** Aborting rejects with `signal.reason`. */
  signal: AbortSignal;
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  stallTimeoutMs: number;
  maxRedirects: number;
  extraCaCertificates: string[];
  responseBodyPath: string;
  /** The headers plus the operation's durable Idempotency-Key, for a request that carries the whole body. */
  withIdempotencyKey(headers: HeaderList): HeaderPairs;
  /** The server has an upload to continue: stored durably before any body byte goes to it. */
  onSession(session: UploadSession): void;
  /** An offset the server acknowledged. */
  onOffset(offset: number): void;
  /** Absolute progress in the body. */
  onBytesSent(bytesSent: number): void;
  /** Headers of the final response arrived; totalBytesToReceive is Content-Length or 0 (R37). */
  onResponse(response: ResponseSnapshot, totalBytesToReceive: number): void;
  /** Response-body bytes written to responseBodyPath so far (R36). */
  onBytesReceived(bytesReceived: number): void;
  /** The server could not continue and this attempt started again from byte 0 (R38). */
  onRestarted(): void;
}

/** A cancel's removal of the server's upload. */
export interface ProtocolTermination {
  session: UploadSession;
  /** The operation's headers (authentication an app set goes along). */
  headers: HeaderList;
  extras: OperationExtras;
  dispatcher: Dispatcher;
  signal: AbortSignal;
  /** The operation's URI: credentials go only to its origin. */
  credentialScope: URL;
}

/** What an endpoint probe is given. */
export interface ProtocolProbe {
  url: URL;
  headers: HeaderList;
  credentials: Credential | null;
  dispatcher: Dispatcher;
  signal: AbortSignal;
}

export interface UploadProtocol {
  /** The stored session's `protocol` for this protocol's uploads; also its name in docs and logs. */
  readonly name: string;
  /** URL schemes it serves, with the colon (`http:`). */
  readonly schemes: readonly string[];
  /**
   * The `resumeProtocol` value that names it. Absent: the scheme alone chooses it (the only protocol
   * of its scheme), whatever `resumeProtocol` says.
   */
  readonly choice?: ResumeChoice;
  /** Under "auto": the endpoint memory's verdicts that make it this attempt's protocol. */
  readonly remembered: readonly LearnedEndpoint['protocol'][];
  readonly capabilities: ProtocolCapabilities;
  /**
   * One attempt: create (or offer) the upload or continue `session`, find the offset the server
   * acknowledged, send the rest from it. Resolves with the final HTTP answer for the engine to judge,
   * or undefined when the server stored the whole body and there is no answer to keep (FTP). Rejects
   * with a TransferError (BT_ERR_RESUME_LOST when the server no longer knows `session`: the engine
   * starts a new upload), or with `signal.reason` when aborted.
   */
  upload(attempt: ProtocolAttempt): Promise<ProtocolAnswer | undefined>;
  /** Removes the server's upload after a cancel. 404/410 count as removed. */
  terminate?(termination: ProtocolTermination): Promise<void>;
  /** Under "auto", asks an endpoint (once; remembered) whether it speaks this protocol. */
  probe?(probe: ProtocolProbe): Promise<EndpointProbe>;
  /**
   * Under "auto", whether a creation's answer contradicts the endpoint memory that chose this
   * protocol: the engine then forgets the endpoint and asks again.
   */
  contradicts?(answer: ProtocolAnswer): boolean;
  /** Under "auto", what a session created by this protocol teaches about the endpoint. */
  learnsFromSession?(extras: OperationExtras): LearnedEndpoint;
  /** Under "auto", what the operation keeps from the endpoint memory's entry (extras to store), if anything. */
  adoptEndpoint?(learned: LearnedEndpoint, extras: OperationExtras): OperationExtras | undefined;
}

/** The engine words its own errors about a request (an error status) the way the protocols word theirs. */
export { requestMessage } from './http/request-messages.ts';
