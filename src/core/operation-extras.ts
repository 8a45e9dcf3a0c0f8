import { z } from 'zod';
import { DEFAULT_EXTRAS } from './default-extras.ts';

export { DEFAULT_EXTRAS };

/**
 * What an operation carries beyond the Windows snapshot: how its body is made, how it resumes, its
 * credentials, notifications and completion group. Stored as one JSON column (extrasJson, 0600 file:
 * credentials are readable only by the user) and never sent to `list` output or logs.
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
]);

const credential = z.object({ userName: z.string(), password: z.string() });
const notification = z.object({ summary: z.string(), body: z.string() });

export const operationExtrasSchema = z.object({
  body: bodySpec,
  /** BackgroundUploader.resumeProtocol: which resumable protocol to use, or 'auto' to probe for one. */
  resumeProtocol: z.enum(['auto', 'tus', 'ietf', 'none']),
  /** The server-side upload a resume continues (tus upload URL, IETF resumption URL, FTP path). */
  session: z
    .object({
      protocol: z.enum(['tus', 'ietf', 'ftp']),
      uploadUrl: z.string().nullable(),
      /** FTP APPE: the remote size before this upload appended anything (to resume without duplicating). */
      appendBase: z.number().nullable().optional(),
    })
    .nullable(),
  /** "auto" found the server speaks no resumable protocol: don't probe again (R38 restarts apply). */
  probedPlain: z.boolean(),
  serverCredential: credential.nullable(),
  proxyCredential: credential.nullable(),
  /** R74: shown when the upload succeeds / fails (desktop notifications). */
  successNotification: notification.nullable(),
  failureNotification: notification.nullable(),
  /** R75: the uploader that created the operation; its notifications judge all of its operations together. */
  notificationBatchId: z.string().nullable(),
  /** R78: the completion group this operation belongs to. */
  completionGroupId: z.string().nullable(),
});

export type OperationExtras = z.infer<typeof operationExtrasSchema>;
export type BodySpec = OperationExtras['body'];
export type ContentPartData = z.infer<typeof contentPart>;
export type ResumeSession = NonNullable<OperationExtras['session']>;
export type Credential = z.infer<typeof credential>;
export type NotificationSpec = z.infer<typeof notification>;

/** A stored value merged over the defaults, so rows written before a field existed still read. */
export function parseExtras(value: unknown): OperationExtras {
  const merged = typeof value === 'object' && value !== null ? { ...DEFAULT_EXTRAS, ...value } : value;
  return operationExtrasSchema.parse(merged);
}
