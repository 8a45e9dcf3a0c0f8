import { stat } from 'node:fs/promises';
import { TransferError } from '../../core/errors.ts';
import type { BodySource } from '../../source/body-source.ts';
import { type FileSourceInfo, readFileBody } from '../../source/file-source.ts';
import { multipartContentType, validateBoundary, validateSubType } from './boundary.ts';
import { boundaryInContent, scanFilePart, scanStart } from './boundary-scan.ts';
import { closeDelimiter, PART_END, partPreamble } from './part-headers.ts';

/**
 * A multipart request body built from content parts (R68–R72, RFC 2046 §5.1, RFC 7578). The body is never
 * materialised: a segment table of header bytes, text bytes and file ranges gives its exact size up front
 * (Content-Length, and R72's TotalBytesToSend), and `read(start)` streams it from any byte offset, reading
 * files lazily one chunk at a time, so a resumed upload can continue mid-body.
 */

/**
 * One content part as the engine stores it: plain data, JSON-safe. `text` and `file` are never both set
 * (R68); neither set is an empty part.
 */
export interface ContentPartSpec {
  name: string | null;
  fileName: string | null;
  /** SetHeader values in the order set (a repeat already replaced the earlier value). */
  headers: Array<[string, string]>;
  text: string | null;
  file: FileSourceInfo | null;
}

/** A contiguous run of the body: bytes held in memory (delimiters, headers, text) or a whole file. */
export type BodySegment =
  | { readonly kind: 'bytes'; readonly offset: number; readonly length: number; readonly bytes: Uint8Array }
  | { readonly kind: 'file'; readonly offset: number; readonly length: number; readonly file: FileSourceInfo };

export interface MultipartPlan {
  readonly segments: readonly BodySegment[];
  /** Exact encoded length: the sum of the segment lengths. */
  readonly size: number;
}

function invalid(message: string): TransferError {
  return new TransferError('BT_ERR_INVALID_ARGUMENT', message);
}

function checkPart(part: ContentPartSpec, index: number, boundary: string): void {
  if (part.text !== null && part.file !== null) {
    throw invalid(`content part ${index} has both text and a file (R68: a part holds one or the other)`);
  }
  // RFC 2046 §5.1.1: the delimiter must not occur in a part's content. Text is checked here; a file is
  // checked while it streams (boundary-scan.ts).
  if (part.text !== null && `\r\n${part.text}`.includes(`\r\n--${boundary}`)) {
    throw boundaryInContent(`the text of content part ${index}`, boundary, true);
  }
}

/**
 * The segment table for `parts` (R72 framing): per part `--<b>` CRLF, headers, blank line, content, CRLF;
 * then `--<b>--` CRLF. Adjacent in-memory runs are merged, so the table alternates bytes and files.
 * Pure: no I/O (file sizes come from the FileSourceInfo recorded when the upload was created).
 */
export function planMultipartBody(parts: readonly ContentPartSpec[], boundary: string): MultipartPlan {
  if (parts.length === 0) {
    throw invalid('a multipart upload needs at least one content part (RFC 2046 §5.1.1)');
  }
  const segments: BodySegment[] = [];
  let offset = 0;
  let pending: Buffer[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    const bytes = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending);
    pending = [];
    segments.push({ kind: 'bytes', offset, length: bytes.length, bytes });
    offset += bytes.length;
  };
  parts.forEach((part, index) => {
    checkPart(part, index, boundary);
    pending.push(partPreamble(boundary, { ...part, isFile: part.file !== null }));
    if (part.text !== null) pending.push(Buffer.from(part.text, 'utf8'));
    if (part.file !== null) {
      flush();
      segments.push({ kind: 'file', offset, length: part.file.size, file: part.file });
      offset += part.file.size;
    }
    pending.push(PART_END);
  });
  pending.push(closeDelimiter(boundary));
  flush();
  return { segments, size: offset };
}

function sourceChanged(file: FileSourceInfo, detail: string, cause?: unknown): TransferError {
  const message = `source file changed after the upload was created: ${file.path} (${detail})`;
  return new TransferError('BT_ERR_SOURCE_CHANGED', message, { cause });
}

/**
 * Checks every file the read will reach before the first byte goes out, so a changed file fails the
 * request at once rather than after the parts before it were sent. readFileBody checks each file again
 * when it opens it and before its last chunk (issue 2 §8).
 */
async function assertFilesUnchanged(files: readonly FileSourceInfo[]): Promise<void> {
  for (const file of files) {
    const now = await stat(file.path).catch((error: unknown) => {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw sourceChanged(file, 'file is gone', error);
      throw new TransferError('BT_ERR_FILE_UNREADABLE', `source file cannot be read: ${file.path} (${code})`, {
        cause: error,
      });
    });
    if (now.ino !== file.ino || now.size !== file.size || now.mtimeMs !== file.mtimeMs) {
      throw sourceChanged(file, `size ${file.size} → ${now.size}, or another file or modification time`);
    }
  }
}

/** Segments that still have bytes at or after `start`; an empty file at `start` stays (its check still runs). */
function segmentsFrom(plan: MultipartPlan, start: number): BodySegment[] {
  return plan.segments.filter((segment) => {
    const end = segment.offset + segment.length;
    return end > start || (end === start && segment.length === 0);
  });
}

async function* readPlan(plan: MultipartPlan, start: number, boundary: string): AsyncGenerator<Uint8Array> {
  const segments = segmentsFrom(plan, start);
  await assertFilesUnchanged(segments.flatMap((segment) => (segment.kind === 'file' ? [segment.file] : [])));
  for (const segment of segments) {
    const skip = Math.max(0, start - segment.offset);
    if (segment.kind === 'bytes') {
      yield segment.bytes.subarray(skip);
    } else {
      const from = scanStart(skip, boundary);
      yield* scanFilePart(readFileBody(segment.file, from), segment.file, boundary, from, skip);
    }
  }
}

/** A BodySource over a plan: exact size, readable from any offset 0 ≤ start ≤ size. */
export function multipartBodySource(plan: MultipartPlan, boundary: string): BodySource {
  return {
    size: plan.size,
    read(start: number): AsyncIterable<Uint8Array> {
      if (!Number.isSafeInteger(start) || start < 0 || start > plan.size) {
        throw new TransferError('BT_ERR_INVALID_ARGUMENT', `multipart body offset ${start} is outside 0..${plan.size}`);
      }
      return readPlan(plan, start, boundary);
    },
  };
}

/**
 * R69–R72: the body and Content-Type of `createUploadAsync(uri, parts, subType, boundary)`. Validates the
 * subtype and boundary (BT_ERR_INVALID_ARGUMENT) and each part (R68), computes the exact size without
 * reading files, and returns a body that streams from any offset.
 */
export function buildMultipartBody(
  parts: readonly ContentPartSpec[],
  subType: string,
  boundary: string,
): { body: BodySource; contentType: string } {
  validateSubType(subType);
  validateBoundary(boundary);
  const plan = planMultipartBody(parts, boundary);
  return { body: multipartBodySource(plan, boundary), contentType: multipartContentType(subType, boundary) };
}
