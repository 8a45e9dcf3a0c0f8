import { TransferError } from './errors.ts';
import type { OperationSpec } from './snapshot.ts';

/**
 * The checks of what an app asks for (URI, method, headers), shared by the API, which refuses bad
 * input before anything is queued, and the transfer host, which cannot assume that a client on its
 * socket went through the API.
 */

/** R7 says HTTP(S) only; bgtransfer adds FTP and explicit FTPS. */
const SUPPORTED_SCHEMES = new Set(['http:', 'https:', 'ftp:', 'ftps:']);
/** The longest URI, header value or name the socket carries (a frame's string field): longer is refused here, by name. */
export const MAX_FIELD_CHARS = 64 * 1024;

/** RFC 9110 §5.6.2 token: header names and methods. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 9110 §5.5 field value: visible ASCII, obs-text, space and tab; never CR, LF or NUL. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** An absolute http(s)/ftp(s) URI with a host. */
export function checkUrl(url: URL): URL {
  if (!SUPPORTED_SCHEMES.has(url.protocol)) {
    throw new TransferError(
      'BT_ERR_UNSUPPORTED_SCHEME',
      `unsupported URI scheme "${url.protocol.replace(/:$/, '')}": use http, https, ftp or ftps`,
    );
  }
  if (!url.hostname) throw new TransferError('BT_ERR_INVALID_URI', `URI has no host: ${url.href}`);
  if (url.href.length > MAX_FIELD_CHARS) {
    throw new TransferError(
      'BT_ERR_INVALID_URI',
      `URI is ${url.href.length} characters long; at most ${MAX_FIELD_CHARS} are allowed: ${url.origin}/…`,
    );
  }
  return url;
}

export function checkUriString(uri: string): URL {
  let url: URL;
  try {
    url = new URL(uri.trim());
  } catch (error) {
    throw new TransferError('BT_ERR_INVALID_URI', `not an absolute URI: ${JSON.stringify(uri.slice(0, 200))}`, {
      cause: error,
    });
  }
  return checkUrl(url);
}

export function checkHeader(name: unknown, value: unknown): [string, string] {
  if (typeof name !== 'string' || !TOKEN.test(name) || name.length > MAX_FIELD_CHARS) {
    throw new TransferError('BT_ERR_INVALID_HEADER', `invalid header name ${JSON.stringify(name)}`);
  }
  if (typeof value !== 'string' || !FIELD_VALUE.test(value)) {
    throw new TransferError(
      'BT_ERR_INVALID_HEADER',
      `invalid value for header ${name}: CR, LF, NUL and characters above U+00FF are not allowed`,
    );
  }
  if (value.length > MAX_FIELD_CHARS) {
    throw new TransferError(
      'BT_ERR_INVALID_HEADER',
      `the value of header ${name} is ${value.length} characters long; at most ${MAX_FIELD_CHARS} are allowed`,
    );
  }
  return [name, value.trim()];
}

export function checkMethod(method: unknown): string {
  if (typeof method !== 'string' || !TOKEN.test(method)) {
    throw new TransferError('BT_ERR_INVALID_METHOD', `invalid method ${JSON.stringify(method)}`);
  }
  return method;
}

/**
 * What the host checks in a start request from any client: the same URI, method and header rules as the
 * API, and a source path that is absolute (a relative one would be read from the host's working
 * directory, the home).
 */
export function checkStartSpec(spec: OperationSpec): void {
  if (spec.download) checkDownloadSpec(spec);
  checkUriString(spec.requestedUri);
  checkMethod(spec.method);
  for (const [name, value] of spec.headers) checkHeader(name, value);
  if (spec.sourcePath !== null && !spec.sourcePath.startsWith('/')) {
    throw new TransferError(
      'BT_ERR_INVALID_ARGUMENT',
      `sourcePath must be an absolute path; got ${JSON.stringify(spec.sourcePath.slice(0, 200))}`,
    );
  }
}

/** A download goes over HTTP(S), FTP or explicit FTPS (docs/downloads.md). */
export function checkDownloadUri(uri: string): URL {
  return checkUriString(uri);
}

/**
 * An FTP download fetches the file the URI names (RETR): it sends no request body, and its method is
 * the downloader's default GET or RETR itself; any other method would be silently ignored, so it is refused.
 */
export function checkFtpDownload(url: URL, method: string, hasRequestBody: boolean): void {
  if (url.protocol !== 'ftp:' && url.protocol !== 'ftps:') return;
  const upper = method.toUpperCase();
  if (upper !== 'GET' && upper !== 'RETR') {
    throw new TransferError('BT_ERR_INVALID_METHOD', `an FTP download uses GET (or RETR), not "${method}"`);
  }
  if (hasRequestBody) {
    throw new TransferError('BT_ERR_INVALID_ARGUMENT', 'an FTP download cannot send a request body');
  }
}

/**
 * A download's result path: absolute and normal (no `.`/`..` segments, no trailing `/`, no NUL), so the
 * partial file beside it lands where the app meant. The host writes it as the app's own OS user.
 */
export function checkResultPath(path: string): string {
  const shown = JSON.stringify(path.slice(0, 200));
  if (!path.startsWith('/') || path.includes('\0') || path.endsWith('/')) {
    throw new TransferError('BT_ERR_INVALID_ARGUMENT', `resultPath must be an absolute file path; got ${shown}`);
  }
  if (path.split('/').some((segment, index) => index > 0 && (segment === '' || segment === '.' || segment === '..'))) {
    throw new TransferError(
      'BT_ERR_INVALID_ARGUMENT',
      `resultPath must not contain "", "." or ".." segments; got ${shown}`,
    );
  }
  return path;
}

function checkDownloadSpec(spec: OperationSpec): void {
  const url = checkDownloadUri(spec.requestedUri);
  checkFtpDownload(url, spec.method, (spec.extras?.body.kind ?? 'none') !== 'none');
  checkResultPath(spec.download?.resultPath ?? '');
  if (spec.extras?.body.kind === 'multipart') {
    throw new TransferError(
      'BT_ERR_INVALID_ARGUMENT',
      'a download sends a file or a stream as its request body, not multipart',
    );
  }
}
