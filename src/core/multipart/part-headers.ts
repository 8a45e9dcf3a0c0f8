/**
 * The header block of one multipart body part (R72, RFC 7578 §4.2 and §4.4). Everything here is pure
 * string building, so the body's exact length is known without reading any file.
 */

/** What a part's header block depends on: its names, its app-set headers, and whether it carries a file. */
export interface PartHeaderInput {
  readonly name: string | null;
  readonly fileName: string | null;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly isFile: boolean;
}

/** RFC 7578 §4.4: a file part without its own Content-Type is `application/octet-stream`. */
const DEFAULT_FILE_CONTENT_TYPE = 'application/octet-stream';

/**
 * A name or file name as the body of a quoted-string parameter, the way browsers send it (RFC 7578 §4.2,
 * WHATWG HTML "multipart/form-data encoding algorithm"): `"` → `%22`, CR → `%0D`, LF → `%0A`; every other
 * character stays as it is and is later written as UTF-8 (non-ASCII names are raw UTF-8, not RFC 2231).
 */
export function escapeDispositionValue(value: string): string {
  return value.replace(/["\r\n]/g, (character) => {
    if (character === '"') return '%22';
    return character === '\r' ? '%0D' : '%0A';
  });
}

/** `form-data; name="<name>"[; filename="<fileName>"]` (R72), or null when the part has neither name. */
export function generatedDisposition(name: string | null, fileName: string | null): string | null {
  if (name === null && fileName === null) return null;
  let value = 'form-data';
  if (name !== null) value += `; name="${escapeDispositionValue(name)}"`;
  if (fileName !== null) value += `; filename="${escapeDispositionValue(fileName)}"`;
  return value;
}

function hasHeader(headers: PartHeaderInput['headers'], name: string): boolean {
  const lower = name.toLowerCase();
  return headers.some(([headerName]) => headerName.toLowerCase() === lower);
}

/**
 * The header lines of a part, in wire order: the generated Content-Disposition (unless the app set its own
 * with SetHeader, which then replaces it), the app's headers in the order they were set, and a default
 * Content-Type for file parts.
 */
export function partHeaderLines(part: PartHeaderInput): Array<[string, string]> {
  const lines: Array<[string, string]> = [];
  if (!hasHeader(part.headers, 'content-disposition')) {
    const disposition = generatedDisposition(part.name, part.fileName);
    if (disposition !== null) lines.push(['Content-Disposition', disposition]);
  }
  for (const [name, value] of part.headers) lines.push([name, value]);
  if (part.isFile && !hasHeader(part.headers, 'content-type')) {
    lines.push(['Content-Type', DEFAULT_FILE_CONTENT_TYPE]);
  }
  return lines;
}

/**
 * The bytes from the delimiter to the start of the content (RFC 2046 §5.1.1):
 * `--<b>` CRLF, each header line + CRLF, then the blank line. Written as UTF-8 (RFC 7578 §5.1).
 */
export function partPreamble(boundary: string, part: PartHeaderInput): Buffer {
  let text = `--${boundary}\r\n`;
  for (const [name, value] of partHeaderLines(part)) text += `${name}: ${value}\r\n`;
  return Buffer.from(`${text}\r\n`, 'utf8');
}

/** After each part's content: the CRLF that RFC 2046 makes part of the next delimiter. */
export const PART_END = Buffer.from('\r\n', 'latin1');

/** The close delimiter `--<b>--` CRLF that ends the body. */
export function closeDelimiter(boundary: string): Buffer {
  return Buffer.from(`--${boundary}--\r\n`, 'latin1');
}
