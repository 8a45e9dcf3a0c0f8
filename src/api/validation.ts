import { TransferError } from '../core/errors.ts';
import { checkHeader, checkMethod, checkUriString, checkUrl } from '../core/request-checks.ts';
import { isUri, type Uri } from './uri.ts';

/**
 * The only place the API rejects input: everything below throws a coded
 * error before anything is queued.
 */

export type UriLike = Uri | URL | string;

/** An absolute http/https/ftp/ftps URI, as a normalized string. */
export function validateUri(uri: UriLike): URL {
  if (isUri(uri)) return checkUrl(new URL(uri.absoluteUri));
  if (uri instanceof URL) return checkUrl(new URL(uri.href));
  if (typeof uri === 'string') return checkUriString(uri);
  throw new TransferError('BT_ERR_INVALID_URI', `expected a Uri, URL or string, got ${typeof uri}`);
}

export const validateHeader = checkHeader;
export const validateMethod = checkMethod;

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
