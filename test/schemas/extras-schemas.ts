import { z } from 'zod';
import { DEFAULT_EXTRAS } from '../../src/core/default-extras.ts';
import { EXPECTED_DIGEST_PATTERN } from '../../src/core/expected-digest.ts';
import type * as Plain from '../../src/core/operation-extras.ts';
import { SPOOL_ID_PATTERN } from '../../src/core/spool-id.ts';
import type { Equal, Expect } from './type-equality.ts';

/**
 * An operation's extras (src/core/operation-extras.ts) as zod schemas: the reference that the store's
 * hand reader (core/extras-read.ts) and the host's hand check of a start (ipc/start-spec-check.ts) are
 * tested against. Tests only: the package has no zod at run time, and its published types are the
 * plain ones, which the compiler holds to these below.
 */

const fileIdentity = z.object({ path: z.string(), size: z.number(), mtimeMs: z.number(), ino: z.number() });

/** One part of a multipart body (R68–R72): text or file, never both. */
const contentPart = z.object({
  name: z.string().nullable(),
  fileName: z.string().nullable(),
  headers: z.array(z.tuple([z.string(), z.string()])),
  text: z.string().nullable(),
  file: fileIdentity.nullable(),
});

const bodySpec = z.discriminatedUnion('kind', [
  /** CreateUpload: the source file is the raw body. */
  z.object({ kind: z.literal('file') }),
  /** CreateUploadAsync: multipart/<subType> built from parts (R69–R72). */
  z.object({ kind: z.literal('multipart'), parts: z.array(contentPart), subType: z.string(), boundary: z.string() }),
  /** CreateUploadFromStreamAsync: the stream spooled to a durable file the host owns. */
  z.object({ kind: z.literal('stream'), spoolPath: z.string() }),
  /** A download without a request body (createDownload(uri, resultFile)). */
  z.object({ kind: z.literal('none') }),
]);

const credential = z.object({ userName: z.string(), password: z.string() });
const notification = z.object({ summary: z.string(), body: z.string() });

/**
 * The fields an app chooses (through BackgroundUploader): the same in a start request and in the stored
 * operation, so the two schemas below cannot drift apart.
 */
const askedFields = {
  /** BackgroundUploader.resumeProtocol: which resumable protocol to use, or 'auto' to probe for one. */
  resumeProtocol: z.enum(['auto', 'tus', 'ietf', 'none']),
  /**
   * ietfInteropVersion (docs/api/background-uploader.md): the draft version the IETF protocol speaks.
   * Defaulted, so that a start frame from a client that predates the field still parses.
   */
  ietfInteropVersion: z.union([z.literal(6), z.literal(8)]).default(6),
  /**
   * sendContentDigest (docs/api/background-uploader.md): send the body's SHA-256 as `Repr-Digest` on
   * plain and IETF draft requests (computed before the body: one extra read). Defaulted for old rows.
   */
  sendContentDigest: z.boolean().default(false),
  /**
   * tusParallelUploads (docs/api/background-uploader.md): where a tus server has the concatenation
   * extension, a large body goes as this many partial uploads at once. 1 = one upload. Defaulted for
   * old rows and clients.
   */
  tusParallelUploads: z.number().int().min(1).max(16).default(1),
  serverCredential: credential.nullable(),
  proxyCredential: credential.nullable(),
  /** R74: shown when the upload succeeds / fails (desktop notifications). */
  successNotification: notification.nullable(),
  failureNotification: notification.nullable(),
  /** R75: the uploader that created the operation; its notifications judge all of its operations together. */
  notificationBatchId: z.string().nullable(),
  /** R78: the completion group this operation belongs to. */
  completionGroupId: z.string().nullable(),
  /** DownloadOperation.isRandomAccessRequired: the app reads the result while it downloads (docs/downloads.md). */
  isRandomAccessRequired: z.boolean().default(false),
  /**
   * DownloadOperation.recoverableWebErrorStatuses: an error with one of these WebErrorStatus values
   * pauses the download (pausedRecoverableWebErrorStatus) until the app resumes it, e.g. after setting
   * a fresh requestedUri, instead of failing or retrying it.
   */
  recoverableWebErrorStatuses: z.array(z.number().int().min(0).max(1000)).max(64).default([]),
  /**
   * DownloadOperation.expectedContentDigest: the app's own `sha-256=:…:` / `sha-512=:…:` of the body. The
   * download completes only if the file matches it (and the server's digest, when one came too).
   */
  expectedContentDigest: z
    .string()
    .regex(EXPECTED_DIGEST_PATTERN, 'expectedContentDigest must be sha-256=:<base64>: or sha-512=:<base64>:')
    .nullable()
    .default(null),
  /**
   * The app's proxy variables (HTTP_PROXY, HTTPS_PROXY, NO_PROXY, either case) when it created the
   * upload, used with config `proxy` "auto": the host's own environment has none, so each app's uploads
   * go through that app's proxies. null (rows stored before this existed): the engine's environment.
   */
  proxyEnv: z.record(z.string(), z.string()).nullable(),
};

export const operationExtrasSchema = z.object({
  body: bodySpec,
  ...askedFields,
  /** UploadOperation.contentDigest: `sha-256=:<base64>:` of the bytes uploaded, once all were read. */
  contentDigest: z.string().nullable().default(null),
  /** The server-side upload a resume continues (tus upload URL, IETF resumption URL, FTP path). */
  session: z
    .object({
      /** 'download': a download resumes from its partial file (docs/downloads.md). */
      protocol: z.enum(['tus', 'ietf', 'ftp', 'download']),
      uploadUrl: z.string().nullable(),
      /** FTP APPE: the remote size before this upload appended anything (to resume without duplicating). */
      appendBase: z.number().nullable().optional(),
      /** IETF draft: when the upload resource expires (Upload-Limit max-age / expires), ms since the epoch. */
      expiresAtMs: z.number().nullable().optional(),
      /** Download: the If-Range validator of the partial file's bytes (a strong ETag, else Last-Modified). */
      validator: z.string().nullable().optional(),
      /** Download: the representation's length, once an answer told it (Content-Length, Content-Range). */
      totalBytes: z.number().nullable().optional(),
      /** Download: the server's digest of the whole representation, `<algorithm>=:<base64>:`. */
      digest: z.string().nullable().optional(),
      /** Download: a digest mismatch was retried once already; the next one is final (docs/downloads.md). */
      digestRetried: z.boolean().optional(),
      /** tus concatenation: each partial upload's bytes, URL (once created), offset and expiry. */
      tusParts: z
        .array(
          z.object({
            start: z.number(),
            end: z.number(),
            uploadUrl: z.string().nullable(),
            offset: z.number(),
            expiresAtMs: z.number().nullable().optional(),
          }),
        )
        .optional(),
    })
    .nullable(),
  /** The tus probe found the checksum extension with sha256: each PATCH carries Upload-Checksum. */
  tusSha256Checksum: z.boolean().default(false),
  /** "auto" found the server speaks no resumable protocol: don't probe again (R38 restarts apply). */
  probedPlain: z.boolean(),
  /**
   * Sent as `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header) on every attempt of a request
   * that carries the whole body: made once, before the first such request, and kept, so a server that
   * honours it can drop a repeat whose first answer was lost.
   */
  idempotencyKey: z.string().nullable(),
  /**
   * A POST is on its way to becoming a resumable upload and none of its body has gone out yet (the tus
   * probe or creation request, an IETF draft request before its first body byte). If the process dies
   * now, nothing the server could have accepted was sent: recovery creates the upload again instead of
   * terminating the POST (R12 is about plain POST bodies).
   */
  creationPending: z.boolean(),
});

// ---- What an app may ask for. -------------------------------------------------------------------
//
// The host never trusts a client: a request carries only what an app chooses (its body, resume
// protocol, credentials, notifications, group). Everything the engine learns while running (the
// resume session, the probe result, offsets) and every file it owns (the spool) is its own, filled in
// by the engine; a request that names one is refused, so a raw frame cannot make the host upload a
// file and delete it, or PATCH into another upload.

/** Names the fields a strict object refused, in words a client author can act on. */
function refuseUnknown(what: string) {
  return {
    error: (issue: { code?: string; keys?: string[] }) =>
      issue.code === 'unrecognized_keys'
        ? `${what} may not carry ${(issue.keys ?? []).join(', ')}: a client sends only what an app asks for; the engine keeps its own state (spool, session, probe result, offsets)`
        : undefined,
  };
}

const requestFileIdentity = z.strictObject(
  { path: z.string(), size: z.number(), mtimeMs: z.number(), ino: z.number() },
  refuseUnknown('a part file'),
);
const requestPart = z.strictObject(
  {
    name: z.string().nullable(),
    fileName: z.string().nullable(),
    headers: z.array(z.tuple([z.string(), z.string()])),
    text: z.string().nullable(),
    file: requestFileIdentity.nullable(),
  },
  refuseUnknown('a multipart part'),
);

const requestBody = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('file') }, refuseUnknown('a file body')),
  z.strictObject(
    { kind: z.literal('multipart'), parts: z.array(requestPart), subType: z.string(), boundary: z.string() },
    refuseUnknown('a multipart body'),
  ),
  z.strictObject(
    {
      kind: z.literal('stream'),
      spoolId: z.string().regex(SPOOL_ID_PATTERN, 'spoolId must be an id from createSpool'),
    },
    refuseUnknown('a stream body'),
  ),
  z.strictObject({ kind: z.literal('none') }, refuseUnknown('an empty body')),
]);

/** The extras of a start request (OperationSpec.extras). */
export const requestExtrasSchema = z.strictObject(
  {
    body: requestBody,
    ...askedFields,
  },
  refuseUnknown('spec.extras'),
);

export type OperationExtras = z.infer<typeof operationExtrasSchema>;
export type Credential = z.infer<typeof credential>;
export type NotificationSpec = z.infer<typeof notification>;

/**
 * A stored value merged over the defaults, so rows written before a field existed still read. The
 * store reads with core/extras-read.ts (no zod); this is the reference its unit test holds it to.
 */
export function parseExtras(value: unknown): OperationExtras {
  const merged = typeof value === 'object' && value !== null ? { ...DEFAULT_EXTRAS, ...value } : value;
  return operationExtrasSchema.parse(merged);
}

export type RequestExtras = z.infer<typeof requestExtrasSchema>;

// The published plain types are these schemas' types, field for field.
export type PlainTypesMatch = [
  Expect<Equal<Plain.OperationExtras, OperationExtras>>,
  Expect<Equal<Plain.BodySpec, OperationExtras['body']>>,
  Expect<Equal<Plain.Credential, Credential>>,
  Expect<Equal<Plain.NotificationSpec, NotificationSpec>>,
  Expect<Equal<Plain.RequestExtras, RequestExtras>>,
  Expect<Equal<Plain.RequestBody, RequestExtras['body']>>,
  Expect<Equal<Plain.RequestExtrasInput, z.input<typeof requestExtrasSchema>>>,
];
