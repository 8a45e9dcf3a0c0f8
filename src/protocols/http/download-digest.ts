import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { TransferError } from '../../core/errors.ts';
import { findHeader, type HeaderList } from './header-pairs.ts';

/**
 * Digests a download is checked against (docs/downloads.md, "Digests"): RFC 9530's `Repr-Digest`
 * (of the whole representation, so it holds for every range of it) and, only for an answer that
 * carries the whole body, `Content-Digest` and RFC 1864's `Content-MD5`. A digest is kept as
 * `<algorithm>=:<base64>:` with the algorithm in lower case.
 */

const ALGORITHMS: Readonly<Record<string, string>> = { 'sha-512': 'sha512', 'sha-256': 'sha256', md5: 'md5' };
/** Strongest first: when a server sends several, the strongest one we know is checked. */
const PREFERENCE = ['sha-512', 'sha-256', 'md5'] as const;

/** `sha-256=:…:, sha-512=:…:` (an RFC 8941 dictionary of byte sequences) → algorithm → base64. */
function parseDigestField(value: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const member of value.split(',')) {
    const match = /^\s*([A-Za-z0-9-]+)\s*=\s*:([A-Za-z0-9+/]*={0,2}):\s*$/.exec(member);
    if (match?.[1] && match[2] !== undefined) found.set(match[1].toLowerCase(), match[2]);
  }
  return found;
}

function strongest(found: Map<string, string>): string | null {
  for (const algorithm of PREFERENCE) {
    const value = found.get(algorithm);
    if (value) return `${algorithm}=:${value}:`;
  }
  return null;
}

/**
 * The digest of the whole body that these response headers promise, or null. `wholeBody`: the answer
 * carries the representation from byte 0 to its end (a 200), so its content digests count too.
 */
export function promisedDigest(headers: HeaderList, wholeBody: boolean): string | null {
  const repr = findHeader(headers, 'repr-digest');
  const fromRepr = repr === undefined ? null : strongest(parseDigestField(repr));
  if (fromRepr !== null || !wholeBody) return fromRepr;
  const content = findHeader(headers, 'content-digest');
  const fromContent = content === undefined ? null : strongest(parseDigestField(content));
  if (fromContent !== null) return fromContent;
  const md5 = findHeader(headers, 'content-md5')?.trim();
  return md5 && /^[A-Za-z0-9+/]{22}==$/.test(md5) ? `md5=:${md5}:` : null;
}

/** Whether `digest` names an algorithm we can check (an app-given digest is checked by the same code). */
export function isCheckableDigest(digest: string): boolean {
  const match = /^([a-z0-9-]+)=:[A-Za-z0-9+/]*={0,2}:$/.exec(digest);
  return match?.[1] !== undefined && Object.hasOwn(ALGORITHMS, match[1]);
}

/** A digest's algorithm (as named in the header), node:crypto's name for it and the expected base64; null if unknown. */
export function digestParts(digest: string): { algorithm: string; nodeName: string; base64: string } | null {
  const match = /^([a-z0-9-]+)=:([A-Za-z0-9+/]*={0,2}):$/.exec(digest);
  const algorithm = match?.[1];
  const nodeName = algorithm === undefined ? undefined : ALGORITHMS[algorithm];
  if (!match || algorithm === undefined || nodeName === undefined || match[2] === undefined) return null;
  return { algorithm, nodeName, base64: match[2] };
}

/**
 * Compares a computed digest (base64) with `digest`; a mismatch is BT_ERR_DIGEST_MISMATCH naming both
 * values (digests are not secrets). `what` names the download in the message.
 */
export function checkDigest(actual: string, digest: string, what: string): void {
  const parts = digestParts(digest);
  if (parts === null)
    throw new TransferError('BT_ERR_INTERNAL', `cannot check the digest ${digest}: unknown algorithm`);
  if (actual === parts.base64) return;
  throw new TransferError(
    'BT_ERR_DIGEST_MISMATCH',
    `${what}: the downloaded bytes have ${parts.algorithm} ${actual}, but ${parts.algorithm} ${parts.base64} was expected; the partial file was discarded`,
  );
}

/** Reads the file and compares it with `digest` (checkDigest). */
export async function verifyFileDigest(path: string, digest: string, what: string): Promise<void> {
  const parts = digestParts(digest);
  if (parts === null)
    throw new TransferError('BT_ERR_INTERNAL', `cannot check the digest ${digest}: unknown algorithm`);
  const hash = createHash(parts.nodeName);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  checkDigest(hash.digest('base64'), digest, what);
}
