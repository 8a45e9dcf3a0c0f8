import { basename } from 'node:path';
import { TransferError } from '../core/errors.ts';
import type { ContentPartSpec } from '../core/multipart/plan.ts';
import { inspectSourceFile } from '../source/file-source.ts';
import { type FileLike, filePathOf } from './storage-file.ts';
import { validateHeader } from './validation.ts';

/** A part value may hold anything but the characters that would end its header line (RFC 2046 §5.1.1). */
const LINE_BREAKING = /[\r\n\0]/;

function optionalName(argument: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') {
    throw new TransferError('BT_ERR_INVALID_ARGUMENT', `BackgroundTransferContentPart: ${argument} must be a string`);
  }
  return value;
}

function r68(already: 'text' | 'file', attempted: 'setText' | 'setFile'): TransferError {
  return new TransferError(
    'BT_ERR_ILLEGAL_STATE',
    `${attempted}() on a content part that already holds ${already === 'text' ? 'text' : 'a file'}: ` +
      'a part holds text or a file, never both (R68)',
  );
}

/**
 * Windows.Networking.BackgroundTransfer.BackgroundTransferContentPart (R68–R72): one part of a
 * multipart upload, holding either a string or a file, never both (R68). Parts are plain values until
 * `createUploadAsync` turns them into specs (R69–R72).
 */
export class BackgroundTransferContentPart {
  readonly #name: string | null;
  readonly #fileName: string | null;
  #headers: Array<[string, string]> = [];
  #text: string | null = null;
  #filePath: string | null = null;

  /**
   * `name` becomes `name="…"` and `fileName` becomes `filename="…"` in the part's Content-Disposition (R71,
   * R72). Windows documents `fileName` as the fully qualified name; it is sent as given, so pass the leaf
   * name (as the sample does with `file.Name`) unless the server wants the path.
   */
  constructor(name?: string, fileName?: string) {
    this.#name = optionalName('name', name);
    this.#fileName = optionalName('fileName', fileName);
  }

  /**
   * "Sets content disposition header values" (Windows' words): a header of this part, written after the
   * generated Content-Disposition in the order set. Setting a name again (any case) replaces its value in
   * place. Setting `Content-Disposition` replaces the generated one; setting `Content-Type` replaces the
   * `application/octet-stream` default of file parts. The name must be an HTTP token; the value may hold
   * any character except CR, LF and NUL (it is part of the body, written as UTF-8) — BT_ERR_INVALID_HEADER.
   */
  setHeader(headerName: string, headerValue: string): void {
    const [name] = validateHeader(headerName, '');
    if (typeof headerValue !== 'string' || LINE_BREAKING.test(headerValue)) {
      throw new TransferError(
        'BT_ERR_INVALID_HEADER',
        `invalid value for content part header ${name}: CR, LF and NUL are not allowed`,
      );
    }
    const value = headerValue.trim();
    const key = name.toLowerCase();
    const index = this.#headers.findIndex(([existing]) => existing.toLowerCase() === key);
    if (index === -1) this.#headers.push([name, value]);
    else this.#headers[index] = [name, value];
  }

  /** The part's content as text, sent as UTF-8. Calling it again replaces the text; after setFile → R68 error. */
  setText(value: string): void {
    if (this.#filePath !== null) throw r68('file', 'setText');
    if (typeof value !== 'string') {
      throw new TransferError('BT_ERR_INVALID_ARGUMENT', 'BackgroundTransferContentPart.setText needs a string');
    }
    this.#text = value;
  }

  /**
   * The part's content as a file (a StorageFile or a path). The file is checked when the upload is created
   * (createUploadAsync), not here. Calling it again replaces the file; after setText → R68 error.
   */
  setFile(file: FileLike): void {
    if (this.#text !== null) throw r68('text', 'setFile');
    this.#filePath = filePathOf(file);
  }

  /**
   * @internal The plain spec the engine stores. Inspects the file now, so a missing, unreadable or
   * non-regular file fails `createUploadAsync` with BT_ERR_FILE_NOT_FOUND / BT_ERR_FILE_UNREADABLE /
   * BT_ERR_NOT_A_FILE, and a later change of the file is detected (BT_ERR_SOURCE_CHANGED). A file part
   * created without a fileName gets the file's leaf name, as RFC 7578 §4.2 asks ("SHOULD be supplied").
   */
  toSpec(): ContentPartSpec {
    const file = this.#filePath === null ? null : inspectSourceFile(this.#filePath);
    return {
      name: this.#name,
      fileName: this.#fileName ?? (file === null ? null : basename(file.path)),
      headers: this.#headers.map(([name, value]) => [name, value]),
      text: this.#text,
      file,
    };
  }
}
