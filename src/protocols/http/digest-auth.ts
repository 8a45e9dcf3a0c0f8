import { createHash, randomBytes } from 'node:crypto';
import type { HttpCredential } from '../../net/basic-auth.ts';
import { type AuthChallenge, quote } from './auth-challenge.ts';

/** RFC 7616 §3.3 / §6.1 (the IANA "HTTP Digest Hash Algorithms" registry) → Node hash names. */
const HASHES: ReadonlyMap<string, string> = new Map([
  ['md5', 'md5'],
  ['sha-256', 'sha256'],
  ['sha-512-256', 'sha512-256'],
]);

/** A `Digest` challenge this client can answer (RFC 7616 §3.3). */
export interface DigestChallenge {
  realm: string;
  nonce: string;
  opaque: string | undefined;
  /** The `algorithm` token as the server wrote it (default "MD5"); sent back unchanged. */
  algorithm: string;
  /** Node hash name of the algorithm. */
  hash: string;
  /** A `-sess` variant (RFC 7616 §3.4.2: A1 also covers the nonce and cnonce). */
  session: boolean;
  /** `auth`; null when the server offered no qop at all (RFC 2617 §3.2.2.1 compatibility with RFC 2069). */
  qop: 'auth' | null;
  /** RFC 7616 §3.3: the nonce was refused as stale, the credentials were right: retry with the new one. */
  stale: boolean;
  /** RFC 7616 §3.4.4: the server wants `username` as H(username ":" realm). */
  userhash: boolean;
}

/**
 * A challenge as a DigestChallenge, or null if this client cannot answer it: not Digest, no realm or
 * nonce, an unknown algorithm ("If the algorithm is not understood, the challenge should be
 * ignored", RFC 2617 §3.2.1), or a qop list without `auth` (auth-int would need the body's hash
 * before the body is sent).
 */
export function digestChallenge(challenge: AuthChallenge): DigestChallenge | null {
  if (challenge.scheme !== 'digest') return null;
  const realm = challenge.params.get('realm');
  const nonce = challenge.params.get('nonce');
  if (realm === undefined || nonce === undefined) return null;
  const algorithm = challenge.params.get('algorithm') ?? 'MD5';
  const lower = algorithm.toLowerCase();
  const session = lower.endsWith('-sess');
  const hash = HASHES.get(session ? lower.slice(0, -'-sess'.length) : lower);
  if (hash === undefined) return null;
  const qopOptions = challenge.params.get('qop');
  let qop: 'auth' | null = null;
  if (qopOptions !== undefined) {
    if (!qopOptions.split(',').some((option) => option.trim().toLowerCase() === 'auth')) return null;
    qop = 'auth';
  }
  // -sess mixes the cnonce into A1, and a cnonce only exists with a qop.
  if (session && qop === null) return null;
  return {
    realm,
    nonce,
    opaque: challenge.params.get('opaque'),
    algorithm,
    hash,
    session,
    qop,
    stale: challenge.params.get('stale')?.toLowerCase() === 'true',
    userhash: challenge.params.get('userhash')?.toLowerCase() === 'true',
  };
}

/**
 * The challenge to answer among several: RFC 7616 §3.7 has the server list one challenge per
 * algorithm "in the order of its preference", so the first one this client supports.
 */
export function selectDigestChallenge(challenges: readonly AuthChallenge[]): DigestChallenge | null {
  for (const challenge of challenges) {
    const digest = digestChallenge(challenge);
    if (digest !== null) return digest;
  }
  return null;
}

/** The inputs of one `response` computation (RFC 7616 §3.4.1). */
export interface DigestResponseInput {
  hash: string;
  session: boolean;
  userName: string;
  realm: string;
  password: string;
  method: string;
  uri: string;
  nonce: string;
  /** 8 hex digits. */
  nc: string;
  cnonce: string;
  qop: 'auth' | null;
}

/**
 * RFC 7616 §3.4.1–3.4.3:
 *   A1 = unq(username) ":" unq(realm) ":" passwd            (-sess: H(that) ":" unq(nonce) ":" unq(cnonce))
 *   A2 = Method ":" request-uri                              (qop=auth)
 *   response = KD(H(A1), unq(nonce) ":" nc ":" unq(cnonce) ":" unq(qop) ":" H(A2)),  KD(s, d) = H(s ":" d)
 * Without a qop (RFC 2617 §3.2.2.1): response = KD(H(A1), unq(nonce) ":" H(A2)).
 */
export function digestResponse(input: DigestResponseInput): string {
  const h = (data: string): string => createHash(input.hash).update(data, 'utf8').digest('hex');
  let ha1 = h(`${input.userName}:${input.realm}:${input.password}`);
  if (input.session) ha1 = h(`${ha1}:${input.nonce}:${input.cnonce}`);
  const ha2 = h(`${input.method}:${input.uri}`);
  if (input.qop === null) return h(`${ha1}:${input.nonce}:${ha2}`);
  return h(`${ha1}:${input.nonce}:${input.nc}:${input.cnonce}:${input.qop}:${ha2}`);
}

/**
 * The client side of one Digest protection space: a challenge plus the request count for its
 * nonce. Each `authorization()` counts one request (`nc`, RFC 7616 §3.4: "the hexadecimal count of
 * the number of requests (including the current request) that the client has sent with the nonce
 * value in this request"), so requests to the same origin (tus HEAD/PATCH, IETF HEAD/PATCH) reuse
 * the challenge without another 401.
 */
export class DigestSession {
  readonly #challenge: DigestChallenge;
  readonly #credential: HttpCredential;
  #nonce: string;
  #count = 0;
  /** -sess: one cnonce per nonce, so A1 is the same whether a server computes it once or per request. */
  #sessionCnonce: string | null = null;

  constructor(challenge: DigestChallenge, credential: HttpCredential) {
    this.#challenge = challenge;
    this.#credential = credential;
    this.#nonce = challenge.nonce;
  }

  /** RFC 7616 §3.5: `Authentication-Info: nextnonce` — later requests use it, counting from 1 again. */
  useNextNonce(nonce: string): void {
    if (nonce === '' || nonce === this.#nonce) return;
    this.#nonce = nonce;
    this.#count = 0;
    this.#sessionCnonce = null;
  }

  /** The `Authorization` value for `method` on `uri` (the request-target, RFC 7616 §3.4 "digest-uri"). */
  authorization(method: string, uri: string): string {
    const challenge = this.#challenge;
    this.#count += 1;
    const nc = this.#count.toString(16).padStart(8, '0');
    if (challenge.session) this.#sessionCnonce ??= newCnonce();
    const cnonce = this.#sessionCnonce ?? newCnonce();
    const response = digestResponse({
      hash: challenge.hash,
      session: challenge.session,
      userName: this.#credential.userName,
      realm: challenge.realm,
      password: this.#credential.password,
      method,
      uri,
      nonce: this.#nonce,
      nc,
      cnonce,
      qop: challenge.qop,
    });
    // §3.4.1: algorithm, qop and nc are never quoted.
    const params = [
      this.#userNameParam(),
      `realm=${quote(challenge.realm)}`,
      `uri=${quote(uri)}`,
      `algorithm=${challenge.algorithm}`,
      `nonce=${quote(this.#nonce)}`,
    ];
    if (challenge.qop !== null) params.push(`nc=${nc}`, `cnonce=${quote(cnonce)}`, `qop=${challenge.qop}`);
    params.push(`response=${quote(response)}`);
    if (challenge.opaque !== undefined) params.push(`opaque=${quote(challenge.opaque)}`);
    params.push(`userhash=${challenge.userhash ? 'true' : 'false'}`);
    return `Digest ${params.join(', ')}`;
  }

  /**
   * §3.4.4: with userhash, H(unq(username) ":" unq(realm)); otherwise the name as a quoted-string, or,
   * when it cannot be one (non-ASCII or control characters), `username*` in RFC 8187 encoding.
   */
  #userNameParam(): string {
    const { userName } = this.#credential;
    const challenge = this.#challenge;
    if (challenge.userhash) {
      const hashed = createHash(challenge.hash).update(`${userName}:${challenge.realm}`, 'utf8').digest('hex');
      return `username=${quote(hashed)}`;
    }
    if (/^[\x20-\x7e]*$/.test(userName)) return `username=${quote(userName)}`;
    return `username*=UTF-8''${encodeRfc8187(userName)}`;
  }
}

/** 128 random bits: RFC 7616 §3.4 asks the cnonce to defeat chosen-plaintext attacks. */
function newCnonce(): string {
  return randomBytes(16).toString('hex');
}

/** RFC 8187 §3.2.1 value-chars: attr-char stays, everything else is %XX of its UTF-8 bytes. */
function encodeRfc8187(value: string): string {
  return Array.from(Buffer.from(value, 'utf8'), (byte) => {
    const char = String.fromCharCode(byte);
    return /[A-Za-z0-9!#$&+\-.^_`|~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }).join('');
}
