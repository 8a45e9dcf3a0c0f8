/**
 * The one place that decides what a secret looks like in text. Everything that leaves the process as
 * text — error messages (TransferError redacts its own message), log lines (core/logger.ts), CLI
 * output — goes through these functions, so no user name, password, signature, token or credential
 * header value is ever printed. The masks are `***`: a reader still sees which URL, which parameter,
 * which header it was.
 */

const MASK = '***';

/** Query (or fragment) parameter names that are secret as a whole word: `sig=`, `key=`, `X-Amz-Signature=`. */
const SECRET_WORDS: ReadonlySet<string> = new Set([
  'sig',
  'signature',
  'token',
  'secret',
  'password',
  'passwd',
  'pwd',
  'pass',
  'credential',
  'credentials',
  'key',
  'apikey',
  'auth',
  'authorization',
  'jwt',
  'code',
  'session',
  'sessionid',
  'sid',
]);

/** Long enough never to be part of an innocent name, so they count anywhere in it (`accesstoken`). */
const SECRET_PARTS = /token|secret|passw|signature|credential|apikey/i;

/**
 * Whether a query parameter's value is a secret: presigned URLs (`X-Amz-Signature`, `X-Amz-Credential`,
 * `X-Amz-Security-Token`, `X-Goog-Signature`, Azure's `sig`), API keys (`key`, `api_key`, `apiKey`),
 * OAuth tokens (`access_token`, `code`), passwords. Names are split into words at `-`, `_`, `.` and
 * camelCase humps, so `monkey` or `keyword` stay visible.
 */
export function isSecretParamName(name: string): boolean {
  let decoded = name;
  try {
    decoded = decodeURIComponent(name);
  } catch {
    // A malformed escape: judge the name as written.
  }
  if (SECRET_PARTS.test(decoded)) return true;
  const words = decoded
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[\s\-_.[\]]+/)
    .filter((word) => word !== '');
  return words.some((word) => SECRET_WORDS.has(word));
}

/** Request and response headers whose values are credentials or session state. */
const SECRET_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'set-cookie2',
  'x-api-key',
  'api-key',
  'x-auth-token',
  'x-amz-security-token',
  'x-goog-iam-authorization-token',
]);

export function isSecretHeaderName(name: string): boolean {
  const lower = name.toLowerCase();
  return SECRET_HEADERS.has(lower) || SECRET_PARTS.test(lower);
}

/**
 * Scheme and userinfo of a URL in text: the authority ends at `/`, `?`, `#` or anything that ends a URL
 * in prose or JSON, and userinfo is everything up to the authority's last `@` (a raw `@` in a password
 * is not valid, but is typed anyway, and parsers take the last one: the greedy run backtracks to it).
 * Only a URL with userinfo matches, so the common one costs no replacement: this pass was most of the
 * redaction of a 10,000-line `bgtransfer list --json` (5 instead of 22–25 ms per 10,000 lines).
 */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^/?#\s"'<>\\`]*@/gi;
/** A `name=value` parameter after `?`, `&`, `;` or `#`; the value ends where the parameter or the URL does. */
const PARAM = /([?&;#])([^=&;#?\s"'<>\\`]+)=([^&;#\s"'<>\\`]*)/g;
/** `Authorization: Basic …` written out as text: the value runs to the end of the line or string. */
const HEADER_TEXT =
  /\b(authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-amz-security-token)(["']?\s*:\s*["']?)([^\r\n"'\\]+)/gi;

/**
 * `text` with every secret masked: userinfo in any `scheme://` URL (`http://***@host/`), the values of
 * secret-looking query and fragment parameters (`?X-Amz-Signature=***`), and credential header values
 * written as `Name: value`. Everything else stays as it was written, byte for byte.
 */
export function redactText(text: string): string {
  if (text === '') return text;
  return text
    .replace(URL_USERINFO, `$1${MASK}@`)
    .replace(PARAM, (match, lead: string, name: string) => (isSecretParamName(name) ? `${lead}${name}=${MASK}` : match))
    .replace(HEADER_TEXT, (_match, name: string, separator: string) => `${name}${separator}${MASK}`);
}

/**
 * A URL safe to print: `http://user:pass@host/p?X-Amz-Signature=abc&part=2` →
 * `http://***@host/p?X-Amz-Signature=***&part=2`. A string that is not a URL is redacted as text.
 */
export function redactUrl(url: string | URL): string {
  return redactText(typeof url === 'string' ? url : url.href);
}

/** Header pairs safe to print: credential values masked, URLs in other values (Location) redacted. */
export function redactHeaders(headers: ReadonlyArray<readonly [string, string]>): Array<[string, string]> {
  return headers.map(([name, value]) => [name, isSecretHeaderName(name) ? MASK : redactText(value)]);
}
