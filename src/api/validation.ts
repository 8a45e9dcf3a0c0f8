import { TransferError } from '../core/errors.ts';
import { isUri, type Uri } from './uri.ts';

/**
 * The only place the API rejects input: everything below throws a coded
 * error before anything is queued.
 */

export type UriLike = Uri | URL | string;

/** R7 says HTTP(S) only; bgtransfer adds FTP and explicit FTPS. */
const SUPPORTED_SCHEMES = new Set(['http:', 'https:', 'ftp:', 'ftps:']);

/** An absolute http(s)/ftp URI, as a normalized string. */
export function validateUri(uri: UriLike): URL {
  let url: URL;
  if (isUri(uri)) url = new URL(uri.absoluteUri);
  else if (uri instanceof URL) url = new URL(uri.href);
  else if (typeof uri === 'string') {
    try {
      url = new URL(uri.trim());
    } catch (error) {
      throw new TransferError('BT_ERR_INVALID_URI', `not an absolute URI: ${JSON.stringify(uri)}`, { cause: error });
    }
  } else {
    throw new TransferError('BT_ERR_INVALID_URI', `expected a Uri, URL or string, got ${typeof uri}`);
  }
  if (!SUPPORTED_SCHEMES.has(url.protocol)) {
    throw new TransferError(
      'BT_ERR_UNSUPPORTED_SCHEME',
      `unsupported URI scheme "${url.protocol.replace(/:$/, '')}": use http, https, ftp or ftps`,
    );
  }
  if (!url.hostname) throw new TransferError('BT_ERR_INVALID_URI', `URI has no host: ${url.href}`);
  return url;
}

/** RFC 9110 §5.6.2 token: header names and methods. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 9110 §5.5 field value: visible ASCII, obs-text, space and tab; never CR, LF or NUL. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export function validateHeader(name: unknown, value: unknown): [string, string] {
  if (typeof name !== 'string' || !TOKEN.test(name)) {
    throw new TransferError('BT_ERR_INVALID_HEADER', `invalid header name ${JSON.stringify(name)}`);
  }
  if (typeof value !== 'string' || !FIELD_VALUE.test(value)) {
    throw new TransferError(
      'BT_ERR_INVALID_HEADER',
      `invalid value for header ${name}: CR, LF, NUL and characters above U+00FF are not allowed`,
    );
  }
  return [name, value.trim()];
}

export function validateMethod(method: unknown): string {
  if (typeof method !== 'string' || !TOKEN.test(method)) {
    throw new TransferError('BT_ERR_INVALID_METHOD', `invalid method ${JSON.stringify(method)}`);
  }
  return method;
}

export function validateEnumValue<T extends number>(
  name: string,
  value: unknown,
  allowed: Readonly<Record<string, T>>,
): T {
  const values: readonly number[] = Object.values(allowed);
  if (typeof value !== 'number' || !values.includes(value)) {
    throw new TransferError(
      'BT_ERR_INVALID_ARGUMENT',
      `${name} must be one of ${values.join(', ')}; got ${String(value)}`,
    );
  }
  return value as T;
}
