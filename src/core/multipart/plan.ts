import { TransferError } from '../errors.ts';
import { multipartContentType, validateBoundary, validateSubType } from './boundary.ts';
import { closeDelimiter, PART_END, partPreamble } from './part-headers.ts';

/**
 * The framing of a multipart body (R68–R72): which bytes go where, and so its exact length, computed
 * without any I/O. Plain data and pure functions, so the API can refuse bad parts and report
 * totalBytesToSend when the upload is created, and protocols/multipart reads the same plan to send it.
 */

/** A file as recorded when the upload was created: its size is what the plan counts. */
export interface FileIdentity {
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
}

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
  file: FileIdentity | null;
}

/** A contiguous run of the body: bytes held in memory (delimiters, headers, text) or a whole file. */
export type BodySegment =
  | { readonly kind: 'bytes'; readonly offset: number; readonly length: number; readonly bytes: Uint8Array }
  | { readonly kind: 'file'; readonly offset: number; readonly length: number; readonly file: FileIdentity };

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
  // RFC 2046 §5.1.1: the delimiter must not occur in a part's content. Text can be checked here; a file
  // cannot without reading it, which is why a generated boundary carries 144 random bits.
  if (part.text !== null && `\r\n${part.text}`.includes(`\r\n--${boundary}`)) {
    throw invalid(`content part ${index}: its text contains the boundary delimiter "--${boundary}" (RFC 2046 §5.1.1)`);
  }
}

/**
 * The segment table for `parts` (R72 framing): per part `--<b>` CRLF, headers, blank line, content, CRLF;
 * then `--<b>--` CRLF. Adjacent in-memory runs are merged, so the table alternates bytes and files.
 * Pure: no I/O (file sizes come from the FileIdentity recorded when the upload was created).
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

/**
 * R69–R72: validates the subtype and boundary (BT_ERR_INVALID_ARGUMENT) and each part (R68), and plans
 * the body: its exact size and its Content-Type, without reading any file.
 */
export function measureMultipart(
  parts: readonly ContentPartSpec[],
  subType: string,
  boundary: string,
): { plan: MultipartPlan; size: number; contentType: string } {
  validateSubType(subType);
  validateBoundary(boundary);
  const plan = planMultipartBody(parts, boundary);
  return { plan, size: plan.size, contentType: multipartContentType(subType, boundary) };
}
