import { createHash } from 'node:crypto';
import type { HttpCredential } from '../../net/basic-auth.ts';
import type { DigestSession } from './digest-auth.ts';

/**
 * What this process learned about a server's authentication, per origin and user, so that the next
 * upload to it does not pay for the lesson again:
 * - the Digest session (challenge, nonce and its request count) the origin asked for last: the next
 *   upload signs its first request with Digest instead of sending Basic and the whole body into a 401;
 * - which generated credentials (Basic, Digest) the origin accepted: its requests need not hold their
 *   body back while waiting for a possible 401 (early-answer.ts).
 * One protection space (realm) per origin and user is kept, the last one learned: an origin that
 * uses several realms for one user costs a 401 round trip each time it switches.
 * The password is only compared, as a hash; nothing here is ever logged.
 */
interface Learned {
  passwordHash: string;
  digest: DigestSession | null;
  accepted: ReadonlySet<AcceptedScheme>;
}

export type AcceptedScheme = 'basic' | 'digest';

/** Bounded so a process that talks to very many origins does not grow without end. */
const MAX_ENTRIES = 256;

const learned = new Map<string, Learned>();

function keyOf(origin: string, credential: HttpCredential): string {
  return `${origin}\n${credential.userName}`;
}

function hashOf(credential: HttpCredential): string {
  return createHash('sha256').update(credential.password, 'utf8').digest('hex');
}

function entry(origin: string, credential: HttpCredential): Learned | undefined {
  const found = learned.get(keyOf(origin, credential));
  return found !== undefined && found.passwordHash === hashOf(credential) ? found : undefined;
}

function update(origin: string, credential: HttpCredential, change: Partial<Omit<Learned, 'passwordHash'>>): void {
  const key = keyOf(origin, credential);
  const passwordHash = hashOf(credential);
  const previous = learned.get(key);
  const base: Learned =
    previous !== undefined && previous.passwordHash === passwordHash
      ? previous
      : { passwordHash, digest: null, accepted: new Set() };
  learned.delete(key);
  learned.set(key, { ...base, ...change });
  if (learned.size > MAX_ENTRIES) learned.delete(learned.keys().next().value ?? key);
}

/** The Digest session learned for `origin` with this credential (same user and password), or null. */
export function learnedDigest(origin: string, credential: HttpCredential): DigestSession | null {
  return entry(origin, credential)?.digest ?? null;
}

export function rememberDigest(origin: string, credential: HttpCredential, session: DigestSession): void {
  update(origin, credential, { digest: session });
}

/** Whether the origin accepted these credentials sent with `scheme` (a 2xx) in this process. */
export function wasAccepted(origin: string, credential: HttpCredential, scheme: AcceptedScheme): boolean {
  return entry(origin, credential)?.accepted.has(scheme) ?? false;
}

export function rememberAccepted(origin: string, credential: HttpCredential, scheme: AcceptedScheme): void {
  const accepted = new Set(entry(origin, credential)?.accepted ?? []);
  accepted.add(scheme);
  update(origin, credential, { accepted });
}

/** Tests only: forget everything (each test starts as a fresh process would). */
export function forgetLearnedAuth(): void {
  learned.clear();
}
