import { TransferError } from '../core/errors.ts';
import type { BodySpec } from '../core/operation-extras.ts';
import { buildMultipartBody } from '../protocols/multipart/multipart-body.ts';
import { type BodySource, fileBody } from '../source/body-source.ts';
import { type FileSourceInfo, inspectSourceFile } from '../source/file-source.ts';

/** The body identity recorded when an operation is queued (a changed source is refused). */
export interface BodyIdentity {
  size: number;
  mtimeMs: number;
  ino: number;
  /** The multipart parts with their files' identities as of now. */
  body: BodySpec;
}

/**
 * Checks the body's files now (they may have changed since createUpload) and measures it: the file
 * (raw body), the spooled stream, or the exact encoded multipart length (R72: totalBytesToSend counts the
 * whole encoded body).
 */
export function inspectBody(sourcePath: string | null, body: BodySpec): BodyIdentity {
  switch (body.kind) {
    case 'file': {
      if (sourcePath === null) throw new TransferError('BT_ERR_INVALID_ARGUMENT', 'a file upload needs a source file');
      const source = inspectSourceFile(sourcePath);
      return { size: source.size, mtimeMs: source.mtimeMs, ino: source.ino, body };
    }
    case 'stream': {
      const source = inspectSourceFile(body.spoolPath);
      return { size: source.size, mtimeMs: source.mtimeMs, ino: source.ino, body };
    }
    case 'multipart': {
      const parts = body.parts.map((part) => ({ ...part, file: part.file && inspectSourceFile(part.file.path) }));
      const checked: BodySpec = { ...body, parts };
      const { body: source } = buildMultipartBody(parts, body.subType, body.boundary);
      return { size: source.size, mtimeMs: 0, ino: 0, body: checked };
    }
    case 'none':
      return { size: 0, mtimeMs: 0, ino: 0, body };
  }
}

export interface OpenedBody {
  source: BodySource;
  /** multipart/<subType>; boundary=… for multipart bodies, else undefined (the app's header stands). */
  contentType: string | undefined;
}

/**
 * The body of an attempt, from what was recorded at queue time. Reading it fails with
 * BT_ERR_SOURCE_CHANGED if a file differs from its recorded identity (size, mtime, inode).
 */
export function openBody(
  record: { sourcePath: string | null; sourceSize: number; sourceMtimeMs: number; sourceIno: number },
  body: BodySpec,
): OpenedBody {
  switch (body.kind) {
    case 'file':
      return { source: fileBody(identity(record.sourcePath ?? '', record)), contentType: undefined };
    case 'stream':
      return { source: fileBody(identity(body.spoolPath, record)), contentType: undefined };
    case 'multipart': {
      const built = buildMultipartBody(body.parts, body.subType, body.boundary);
      return { source: built.body, contentType: built.contentType };
    }
    case 'none':
      return { source: EMPTY_BODY, contentType: undefined };
  }
}

/** A download's request without a body (a GET): nothing to read. */
const EMPTY_BODY: BodySource = {
  size: 0,
  read: async function* () {},
};

function identity(
  path: string,
  record: { sourceSize: number; sourceMtimeMs: number; sourceIno: number },
): FileSourceInfo {
  return { path, size: record.sourceSize, mtimeMs: record.sourceMtimeMs, ino: record.sourceIno };
}
