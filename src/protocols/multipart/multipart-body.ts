import { stat } from 'node:fs/promises';
import { TransferError } from '../../core/errors.ts';
import {
  type BodySegment,
  type ContentPartSpec,
  type MultipartPlan,
  measureMultipart,
} from '../../core/multipart/plan.ts';
import type { BodySource } from '../../source/body-source.ts';
import { type FileSourceInfo, readFileBody } from '../../source/file-source.ts';
import { scanFilePart, scanStart } from './boundary-scan.ts';

/**
 * A multipart request body built from content parts (R68–R72, RFC 2046 §5.1, RFC 7578). The body is never
 * materialised: the segment table of core/multipart/plan.ts (header bytes, text bytes, file ranges) gives
 * its exact size up front (Content-Length, and R72's TotalBytesToSend), and `read(start)` streams it from
 * any byte offset, reading files lazily one chunk at a time, so a resumed upload can continue mid-body.
 */

function sourceChanged(file: FileSourceInfo, detail: string, cause?: unknown): TransferError {
  const message = `source file changed after the upload was created: ${file.path} (${detail})`;
  return new TransferError('BT_ERR_SOURCE_CHANGED', message, { cause });
}

/**
 * Checks every file the read will reach before the first byte goes out, so a changed file fails the
 * request at once rather than after the parts before it were sent. readFileBody checks each file again
 * when it opens it and before its last chunk.
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
      // RFC 2046 §5.1.1: the delimiter must not occur in a part's content; a file can only be checked as
      // it streams (boundary-scan.ts), from a little before `skip` so a delimiter across it is seen.
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
  const { plan, contentType } = measureMultipart(parts, subType, boundary);
  return { body: multipartBodySource(plan, boundary), contentType };
}
