import { DEFAULT_EXTRAS, DEFAULT_REQUEST_EXTRAS } from './default-extras.ts';
import type { ContentPartSpec } from './multipart/plan.ts';
import { SPOOL_ID_PATTERN } from './spool-id.ts';

/** A multipart body's parts (R68–R72) and their files are described with its plan. */
export type { ContentPartSpec, FileIdentity } from './multipart/plan.ts';
export { DEFAULT_EXTRAS, DEFAULT_REQUEST_EXTRAS, SPOOL_ID_PATTERN };

/**
 * What an operation carries beyond the Windows snapshot: how its body is made, how it resumes, its
 * credentials, notifications and completion group. Stored as one JSON column (extrasJson, 0600 file:
 * credentials are readable only by the user) and never sent to `list` output or logs.
 *
 * Plain types: the store reads the column with core/extras-read.ts and the host checks a start's
 * extras with ipc/start-spec-check.ts, both by hand. test/schemas/extras-schemas.ts states the same
 * shapes as zod schemas, the reference those checks are tested against, and makes the compiler hold
 * these types to them (docs/architecture.md, "Checking what crosses the socket").
 */

/** A multipart body as stored and as requested alike. */
export interface MultipartBodySpec {
  kind: 'multipart';
  parts: ContentPartSpec[];
  subType: string;
  boundary: string;
}

/**
 * How a stored operation's body is made: the source file (CreateUpload), multipart/<subType> from
 * parts (CreateUploadAsync), a stream spooled to a durable file the host owns
 * (CreateUploadFromStreamAsync), or none (a download without a request body).
 */
export type BodySpec = { kind: 'file' } | MultipartBodySpec | { kind: 'stream'; spoolPath: string } | { kind: 'none' };

export interface Credential {
  userName: string;
  password: string;
}

export interface NotificationSpec {
  summary: string;
  body: string;
}

/** The resumable protocol an app asks for ('auto': learn what the endpoint speaks). */
export type ResumeProtocolChoice = 'auto' | 'tus' | 'ietf' | 'none';

/**
 * The fields an app chooses (through BackgroundUploader / BackgroundDownloader): the same in a start
 * request and in the stored operation.
 */
export interface AskedExtras {
  /** BackgroundUploader.resumeProtocol: which resumable protocol to use, or 'auto' to probe for one. */
  resumeProtocol: ResumeProtocolChoice;
  /** ietfInteropVersion (docs/api/background-uploader.md): the draft version the IETF protocol speaks. */
  ietfInteropVersion: 6 | 8;
  /**
   * sendContentDigest (docs/api/background-uploader.md): send the body's SHA-256 as `Repr-Digest` on
   * plain and IETF draft requests (computed before the body: one extra read).
   */
  sendContentDigest: boolean;
  /**
   * tusParallelUploads (docs/api/background-uploader.md): where a tus server has the concatenation
   * extension, a large body goes as this many partial uploads at once (1 to 16). 1 = one upload.
   */
  tusParallelUploads: number;
  serverCredential: Credential | null;
  proxyCredential: Credential | null;
  /** R74: shown when the upload succeeds / fails (desktop notifications). */
  successNotification: NotificationSpec | null;
  failureNotification: NotificationSpec | null;
  /** R75: the uploader that created the operation; its notifications judge all of its operations together. */
  notificationBatchId: string | null;
  /** R78: the completion group this operation belongs to. */
  completionGroupId: string | null;
  /** DownloadOperation.isRandomAccessRequired: the app reads the result while it downloads (docs/downloads.md). */
  isRandomAccessRequired: boolean;
  /**
   * DownloadOperation.recoverableWebErrorStatuses: an error with one of these WebErrorStatus values
   * pauses the download (pausedRecoverableWebErrorStatus) until the app resumes it, e.g. after setting
   * a fresh requestedUri, instead of failing or retrying it.
   */
  recoverableWebErrorStatuses: number[];
  /**
   * DownloadOperation.expectedContentDigest: the app's own `sha-256=:…:` / `sha-512=:…:` of the body. The
   * download completes only if the file matches it (and the server's digest, when one came too).
   */
  expectedContentDigest: string | null;
  /**
   * The app's proxy variables (HTTP_PROXY, HTTPS_PROXY, NO_PROXY, either case) when it created the
   * upload, used with config `proxy` "auto": the host's own environment has none, so each app's uploads
   * go through that app's proxies. null (rows stored before this existed): the engine's environment.
   */
  proxyEnv: Record<string, string> | null;
}

/** tus concatenation: one partial upload's bytes, URL (once created), offset and expiry. */
export interface TusPartSession {
  start: number;
  end: number;
  uploadUrl: string | null;
  offset: number;
  expiresAtMs?: number | null | undefined;
}

/** The server-side upload a resume continues (tus upload URL, IETF resumption URL, FTP path). */
export interface UploadSession {
  /** 'download': a download resumes from its partial file (docs/downloads.md). */
  protocol: 'tus' | 'ietf' | 'ftp' | 'download';
  uploadUrl: string | null;
  /** FTP APPE: the remote size before this upload appended anything (to resume without duplicating). */
  appendBase?: number | null | undefined;
  /** IETF draft: when the upload resource expires (Upload-Limit max-age / expires), ms since the epoch. */
  expiresAtMs?: number | null | undefined;
  /** Download: the If-Range validator of the partial file's bytes (a strong ETag, else Last-Modified). */
  validator?: string | null | undefined;
  /** Download: the representation's length, once an answer told it (Content-Length, Content-Range). */
  totalBytes?: number | null | undefined;
  /** Download: the server's digest of the whole representation, `<algorithm>=:<base64>:`. */
  digest?: string | null | undefined;
  /** Download: a digest mismatch was retried once already; the next one is final (docs/downloads.md). */
  digestRetried?: boolean | undefined;
  tusParts?: TusPartSession[] | undefined;
}

/** A stored operation's extras: what the app asked for, and what the engine keeps for itself. */
export interface OperationExtras extends AskedExtras {
  body: BodySpec;
  /** UploadOperation.contentDigest: `sha-256=:<base64>:` of the bytes uploaded, once all were read. */
  contentDigest: string | null;
  session: UploadSession | null;
  /** The tus probe found the checksum extension with sha256: each PATCH carries Upload-Checksum. */
  tusSha256Checksum: boolean;
  /** "auto" found the server speaks no resumable protocol: don't probe again (R38 restarts apply). */
  probedPlain: boolean;
  /**
   * Sent as `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header) on every attempt of a request
   * that carries the whole body: made once, before the first such request, and kept, so a server that
   * honours it can drop a repeat whose first answer was lost.
   */
  idempotencyKey: string | null;
  /**
   * A POST is on its way to becoming a resumable upload and none of its body has gone out yet (the tus
   * probe or creation request, an IETF draft request before its first body byte). If the process dies
   * now, nothing the server could have accepted was sent: recovery creates the upload again instead of
   * terminating the POST (R12 is about plain POST bodies).
   */
  creationPending: boolean;
}

// ---- What an app may ask for. -------------------------------------------------------------------
//
// The host never trusts a client: a request carries only what an app chooses (its body, resume
// protocol, credentials, notifications, group). Everything the engine learns while running (the
// resume session, the probe result, offsets) and every file it owns (the spool) is its own, filled in
// by the engine; a request that names one is refused, so a raw frame cannot make the host upload a
// file and delete it, or PATCH into another upload.

/** A start request's body: as stored, but a stream names its spool by id (from createSpool), never by path. */
export type RequestBody = { kind: 'file' } | MultipartBodySpec | { kind: 'stream'; spoolId: string } | { kind: 'none' };

/** The extras of a start request (OperationSpec.extras), as the host reads them once checked. */
export interface RequestExtras extends AskedExtras {
  body: RequestBody;
}

/** Fields a client may leave out of a start's extras (one that predates them): the host fills in the default. */
export type DefaultedRequestField =
  | 'ietfInteropVersion'
  | 'sendContentDigest'
  | 'tusParallelUploads'
  | 'isRandomAccessRequired'
  | 'recoverableWebErrorStatuses'
  | 'expectedContentDigest';

/** The extras of a start request as a client may send them. */
export type RequestExtrasInput = Omit<RequestExtras, DefaultedRequestField> &
  Partial<Pick<RequestExtras, DefaultedRequestField>>;
