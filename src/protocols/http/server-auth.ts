import { basicAuthorization, type HttpCredential } from '../../net/basic-auth.ts';
import { learnedDigest, rememberAccepted, rememberDigest, wasAccepted } from './auth-cache.ts';
import { hasAuthorization, headerValues, parseAuthParams, parseChallenges } from './auth-challenge.ts';
import { DigestSession, selectDigestChallenge } from './digest-auth.ts';
import type { HeaderList, HeaderPairs } from './header-pairs.ts';

/**
 * What a request carried: generated Basic or Digest credentials; `none` when credentials apply but
 * Basic cannot carry them (a user name with a colon); `app` when the request is not ours to
 * authenticate (another origin, or the app's own Authorization).
 */
export type SentCredentials = 'basic' | 'digest' | 'none' | 'app';

/** Per logical request: a stale nonce earns one more try (RFC 7616 §3.3 `stale`). */
export interface AuthRetryState {
  staleRetried: boolean;
}

/**
 * Server authentication for one upload attempt (R65 `serverCredential`): every request of the
 * attempt (uploadHttp's request and re-sends, tus POST/HEAD/PATCH, IETF HEAD/PATCH) goes through one
 * instance, so a Digest challenge learned on one request answers the next ones.
 *
 * - Credentials go only to the origin of the URI the app asked for (`scope`). A request to any other
 *   origin (after a cross-origin redirect, or a tus Location elsewhere) carries none.
 * - An `Authorization` set by the app (R66: a token passed as a header) wins: nothing is added and
 *   its 401 is final.
 * - Basic (RFC 7617) is sent preemptively until a Digest challenge (RFC 7616) is known; then Digest.
 * - A 401 with a Digest challenge is answered once; a 401 to Digest credentials is final unless it
 *   says `stale=true`, which is retried once with the new nonce.
 * - What an origin asked for is remembered for the process (auth-cache.ts): the next upload to a
 *   Digest server starts with Digest, and `holdBody` says when a request should wait for an early
 *   refusal before sending a large body (early-answer.ts).
 *
 * Neither the password nor a generated header value is ever put in an error or a log line.
 */
export class ServerAuth {
  readonly #credential: HttpCredential;
  readonly #origin: string;
  #digest: DigestSession | null = null;
  /** `#digest` came from an earlier upload (auth-cache.ts) and has not been answered here yet. */
  #digestFromCache: boolean;

  private constructor(credential: HttpCredential, scope: URL) {
    this.#credential = credential;
    this.#origin = scope.origin;
    this.#digest = learnedDigest(this.#origin, credential);
    this.#digestFromCache = this.#digest !== null;
  }

  /** null without credentials: requests go out as the app wrote them. */
  static create(credential: HttpCredential | null | undefined, scope: URL): ServerAuth | null {
    return credential === null || credential === undefined ? null : new ServerAuth(credential, scope);
  }

  /**
   * `headers` plus the generated `Authorization` for `method` on `url`, and which kind it is.
   * `holdBody`: the origin has not accepted these credentials yet (Basic sent preemptively, Digest
   * not yet answered 2xx, or none could be sent), so a large body should wait for an early 401 first.
   */
  sign(
    method: string,
    url: URL,
    headers: HeaderList,
  ): { headers: HeaderList; sent: SentCredentials; holdBody: boolean } {
    if (url.origin !== this.#origin || hasAuthorization(headers)) return { headers, sent: 'app', holdBody: false };
    if (this.#digest !== null) {
      const value = this.#digest.authorization(method, `${url.pathname}${url.search}`);
      const holdBody = !wasAccepted(this.#origin, this.#credential, 'digest');
      return { headers: [...headers, ['Authorization', value]], sent: 'digest', holdBody };
    }
    const basic = basicAuthorization(this.#credential);
    if (basic === null) return { headers, sent: 'none', holdBody: true };
    const holdBody = !wasAccepted(this.#origin, this.#credential, 'basic');
    return { headers: [...headers, ['Authorization', basic]], sent: 'basic', holdBody };
  }

  /**
   * Reads a final response to a request that carried `sent`. Takes a Digest `nextnonce` (RFC 7616
   * §3.5 Authentication-Info) and returns whether the request should be sent again with Digest
   * credentials: a 401 with a Digest challenge this client supports, after Basic or no generated
   * credentials (e.g. a user name with a colon), or after Digest with `stale=true` (once).
   */
  shouldRetry(status: number, headers: HeaderPairs, sent: SentCredentials, state: AuthRetryState): boolean {
    if (sent === 'digest' && this.#digest !== null) {
      for (const info of headerValues(headers, 'authentication-info')) {
        const next = parseAuthParams(info).get('nextnonce');
        if (next !== undefined) this.#digest.useNextNonce(next);
      }
    }
    const fromCache = sent === 'digest' && this.#digestFromCache;
    if (sent === 'digest') this.#digestFromCache = false;
    if ((sent === 'basic' || sent === 'digest') && status >= 200 && status < 300) {
      rememberAccepted(this.#origin, this.#credential, sent);
      // Only a session that worked is worth reusing: wrong credentials would start with Digest for nothing.
      if (sent === 'digest' && this.#digest !== null) rememberDigest(this.#origin, this.#credential, this.#digest);
    }
    if (status !== 401 || sent === 'app') return false;
    const challenge = selectDigestChallenge(parseChallenges(headerValues(headers, 'www-authenticate')));
    if (fromCache) {
      // What another upload learned does not hold for this request (another realm, a path that
      // wants Basic): start over as a fresh upload would, with the challenge in this answer or Basic.
      this.#digest = challenge === null ? null : new DigestSession(challenge, this.#credential);
      return true;
    }
    if (challenge === null) return false;
    if (sent === 'digest') {
      if (!challenge.stale || state.staleRetried) return false;
      state.staleRetried = true;
    }
    this.#digest = new DigestSession(challenge, this.#credential);
    return true;
  }
}
