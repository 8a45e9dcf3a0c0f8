import { type HeaderList, withoutHeaders } from './header-pairs.ts';

/** One challenge of a `WWW-Authenticate` (or `Proxy-Authenticate`) field, RFC 9110 §11.6.1. */
export interface AuthChallenge {
  /** Lower-cased (schemes are case-insensitive, RFC 9110 §11.1): `basic`, `digest`, … */
  scheme: string;
  /** Parameter names lower-cased; values unquoted. The first occurrence of a name wins. */
  params: Map<string, string>;
  /** The token68 form (`Negotiate abc==`); null when the challenge has parameters or nothing. */
  token68: string | null;
}

/** tchar (RFC 9110 §5.6.2). */
const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
/** token68 characters before the trailing `=` padding (RFC 9110 §11.2). */
const TOKEN68_CHAR = /[A-Za-z0-9\-._~+/]/;

/**
 * Every challenge of the given `WWW-Authenticate` field values, in order. Grammar (RFC 9110 §11.6.1):
 *   challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   auth-param = token BWS "=" BWS ( token / quoted-string )
 * One field may hold several challenges ("Basic realm=a, Digest realm=b, nonce=c"); a malformed
 * element is skipped up to the next comma rather than failing the whole field.
 */
export function parseChallenges(values: readonly string[]): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  for (const value of values) {
    const reader = new Reader(value);
    let current: AuthChallenge | null = null;
    for (;;) {
      reader.skip(/[\s,]/);
      if (reader.done) break;
      const name = reader.token();
      if (name === '') {
        reader.skipElement();
        continue;
      }
      const spaces = reader.skip(/[ \t]/);
      if (reader.peek() === '=' && current !== null) {
        reader.next();
        reader.skip(/[ \t]/);
        const paramValue = reader.peek() === '"' ? reader.quoted() : reader.token();
        if (!current.params.has(name.toLowerCase())) current.params.set(name.toLowerCase(), paramValue);
        continue;
      }
      current = { scheme: name.toLowerCase(), params: new Map(), token68: null };
      challenges.push(current);
      if (spaces > 0) current.token68 = reader.token68();
    }
  }
  return challenges;
}

/**
 * An `#auth-param` list such as `Authentication-Info: nextnonce="…", qop=auth` (RFC 9110 §11.6.3,
 * RFC 7616 §3.5): names lower-cased, values unquoted.
 */
export function parseAuthParams(value: string): Map<string, string> {
  const params = new Map<string, string>();
  const reader = new Reader(value);
  for (;;) {
    reader.skip(/[\s,]/);
    if (reader.done) break;
    const name = reader.token();
    reader.skip(/[ \t]/);
    if (name === '' || reader.peek() !== '=') {
      reader.skipElement();
      continue;
    }
    reader.next();
    reader.skip(/[ \t]/);
    const paramValue = reader.peek() === '"' ? reader.quoted() : reader.token();
    if (!params.has(name.toLowerCase())) params.set(name.toLowerCase(), paramValue);
  }
  return params;
}

/** The values of every field named `name` (case-insensitive), in order. */
export function headerValues(headers: HeaderList, name: string): string[] {
  const wanted = name.toLowerCase();
  return headers.filter(([candidate]) => candidate.toLowerCase() === wanted).map(([, value]) => value);
}

/** Whether the app set its own `Authorization` (R66: an app-made token wins over generated credentials). */
export function hasAuthorization(headers: HeaderList): boolean {
  return withoutHeaders(headers, new Set(['authorization'])).length !== headers.length;
}

/**
 * Quotes a value as an RFC 9110 §5.6.4 quoted-string: `"` and `\` are escaped. The caller makes
 * sure the value has no CR, LF or other control characters (they cannot be quoted at all).
 */
export function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/** A cursor over one field value. */
class Reader {
  readonly #text: string;
  #position = 0;

  constructor(text: string) {
    this.#text = text;
  }

  get done(): boolean {
    return this.#position >= this.#text.length;
  }

  peek(): string {
    return this.#text[this.#position] ?? '';
  }

  next(): void {
    this.#position += 1;
  }

  /** Skips characters matching `pattern`; returns how many. */
  skip(pattern: RegExp): number {
    const start = this.#position;
    while (!this.done && pattern.test(this.peek())) this.#position += 1;
    return this.#position - start;
  }

  token(): string {
    const start = this.#position;
    this.skip(TCHAR);
    return this.#text.slice(start, this.#position);
  }

  /** A quoted-string at the cursor, unescaped; an unterminated one runs to the end. */
  quoted(): string {
    let value = '';
    this.#position += 1;
    while (!this.done) {
      const char = this.peek();
      this.#position += 1;
      if (char === '"') return value;
      if (char === '\\' && !this.done) {
        value += this.peek();
        this.#position += 1;
        continue;
      }
      value += char;
    }
    return value;
  }

  /** A token68 (RFC 9110 §11.2) when one follows and ends the element; otherwise null (nothing read). */
  token68(): string | null {
    const start = this.#position;
    let end = start;
    while (end < this.#text.length && TOKEN68_CHAR.test(this.#text[end] ?? '')) end += 1;
    if (end === start) return null;
    while (this.#text[end] === '=') end += 1;
    let after = end;
    while (this.#text[after] === ' ' || this.#text[after] === '\t') after += 1;
    if (after < this.#text.length && this.#text[after] !== ',') return null;
    this.#position = after;
    return this.#text.slice(start, end);
  }

  /** Skips a malformed element: up to the next comma outside a quoted-string. */
  skipElement(): void {
    while (!this.done && this.peek() !== ',') {
      if (this.peek() === '"') this.quoted();
      else this.#position += 1;
    }
  }
}
