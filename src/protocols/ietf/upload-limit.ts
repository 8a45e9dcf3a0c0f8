import { TransferError } from '../../core/errors.ts';
import { findHeader, type HeaderList } from '../http/header-pairs.ts';
import { smallerBody } from '../http/smaller-body.ts';
import type { IetfInteropVersion } from './ietf-protocol.ts';

/** §"Limits": what `Upload-Limit` announces; absent keys are unlimited. */
export interface UploadLimits {
  maxSize?: number;
  minSize?: number;
  maxAppendSize?: number;
  minAppendSize?: number;
  /** Remaining lifetime in seconds: `expires` in interop 6, `max-age` from 7 on. */
  maxAgeSeconds?: number;
}

const KEYS: Record<string, keyof UploadLimits> = {
  'max-size': 'maxSize',
  'min-size': 'minSize',
  'max-append-size': 'maxAppendSize',
  'min-append-size': 'minAppendSize',
};

/**
 * `Upload-Limit`, an sf-dictionary of integers. "A member with an unknown key MUST be ignored" and
 * "a member with a known key but a value of unexpected type MUST cause the entire Upload-Limit header
 * field to be ignored" (undefined is returned then, as when it is absent).
 */
export function parseUploadLimit(headers: HeaderList, version: IetfInteropVersion): UploadLimits | undefined {
  const value = findHeader(headers, 'upload-limit');
  if (value === undefined) return undefined;
  const ageKey = version === 6 ? 'expires' : 'max-age';
  const limits: UploadLimits = {};
  for (const member of value.split(',')) {
    const [rawKey = '', rawValue] = member.split(';')[0]!.split('=', 2);
    const key = rawKey.trim();
    const field = key === ageKey ? 'maxAgeSeconds' : KEYS[key];
    if (field === undefined) continue;
    const text = rawValue?.trim() ?? '';
    // sf-integer: at most 15 digits; a negative or fractional limit is a value of unexpected type.
    if (!/^\d{1,15}$/.test(text)) return undefined;
    limits[field] = Number(text);
  }
  return limits;
}

/** Later announcements add to (and update) what was learned before. */
export function mergeLimits(known: UploadLimits, update: UploadLimits | undefined): UploadLimits {
  return update === undefined ? known : { ...known, ...update };
}

/** BT_ERR_UPLOAD_LIMIT when the body cannot be uploaded within the limits at all. */
export function checkUploadSize(limits: UploadLimits, size: number, what: string): void {
  if (limits.maxSize !== undefined && size > limits.maxSize) {
    throw new TransferError(
      'BT_ERR_UPLOAD_LIMIT',
      `${what} allows at most ${limits.maxSize} bytes (Upload-Limit max-size); this body has ${size}`,
    );
  }
  const { minAppendSize, maxAppendSize } = limits;
  if (minAppendSize !== undefined && maxAppendSize !== undefined && minAppendSize > maxAppendSize) {
    throw new TransferError(
      'BT_ERR_UPLOAD_LIMIT',
      `${what} asks for appends of at least ${minAppendSize} and at most ${maxAppendSize} bytes`,
    );
  }
}

/**
 * Where the next append ends. "A client that is aware of this limit MUST NOT send larger upload append
 * requests" (max-append-size) nor smaller ones (min-append-size), but the append that completes the
 * upload is exempt from the minimum: pieces of max-append-size and a shorter last one fit both.
 * `cap`, when given, bounds the pieces further: the size a 413 in this attempt led to (smallerAppend).
 */
export function nextAppendEnd(limits: UploadLimits, offset: number, size: number, cap?: number): number {
  const announced = limits.maxAppendSize !== undefined && limits.maxAppendSize > 0 ? limits.maxAppendSize : Infinity;
  const max = Math.min(announced, cap ?? Infinity);
  return max === Infinity ? size : Math.min(size, offset + max);
}

/**
 * The largest append to try after a request carrying `refused` bytes was answered 413 (Content Too
 * Large) by something that did not say it is the target resource's final answer (smallerBody), within
 * the announced append limits; `limits` already holds any Upload-Limit of the 413 itself.
 */
export function smallerAppend(limits: UploadLimits, refused: number): number | undefined {
  return smallerBody(refused, limits.maxAppendSize, limits.minAppendSize);
}

/** When the upload resource expires (ms since the epoch), from a response generated now. */
export function expiresAt(limits: UploadLimits, now = Date.now()): number | null {
  return limits.maxAgeSeconds === undefined ? null : now + limits.maxAgeSeconds * 1000;
}
