import { TransferError } from '../../core/errors.ts';
import { urlText } from './request-messages.ts';

/**
 * Where a 3xx answer sends the next request, checked the same way for uploads and downloads: a
 * Location must be there and parse, lead to HTTP(S), and never from https down to plain http.
 */
export function redirectTarget(current: URL, status: number, location: string | undefined): URL {
  if (location === undefined || location === '') {
    throw new TransferError(
      'BT_ERR_INVALID_RESPONSE',
      `the ${status} redirect from ${urlText(current)} has no Location`,
    );
  }
  let next: URL;
  try {
    next = new URL(location, current);
  } catch (error) {
    throw new TransferError('BT_ERR_INVALID_RESPONSE', `${status} redirect to an invalid Location: ${location}`, {
      cause: error,
    });
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    throw new TransferError(
      'BT_ERR_INVALID_RESPONSE',
      `the ${status} redirect from ${urlText(current)} goes to a non-HTTP location: ${urlText(next)}`,
    );
  }
  if (current.protocol === 'https:' && next.protocol === 'http:') {
    throw new TransferError(
      'BT_ERR_INSECURE_REDIRECT',
      `the ${status} redirect from ${urlText(current)} goes from https to plain http: ${urlText(next)}`,
    );
  }
  return next;
}
