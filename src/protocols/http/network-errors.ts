import { type ErrorCode, TransferError } from '../../core/errors.ts';
import { formatBytes, requestMessage } from './request-messages.ts';

/**
 * Node and undici error codes → bgtransfer error codes (docs/windows-behaviour.md, WinINet errors). Node puts the
 * code on `error.code` (errno names, TLS verify names, `ERR_TLS_*`); undici uses `UND_ERR_*` and
 * `HPE_*` (its HTTP parser) and often wraps the socket error as `cause`.
 */
const CODE_TABLE: ReadonlyMap<string, ErrorCode> = new Map<string, ErrorCode>([
  ['ECONNREFUSED', 'BT_ERR_CANNOT_CONNECT'],
  ['EHOSTUNREACH', 'BT_ERR_CANNOT_CONNECT'],
  ['ENETUNREACH', 'BT_ERR_CANNOT_CONNECT'],
  ['EHOSTDOWN', 'BT_ERR_CANNOT_CONNECT'],
  ['ENETDOWN', 'BT_ERR_CANNOT_CONNECT'],
  ['EADDRNOTAVAIL', 'BT_ERR_CANNOT_CONNECT'],
  ['ENOTFOUND', 'BT_ERR_HOST_NOT_RESOLVED'],
  ['EAI_AGAIN', 'BT_ERR_HOST_NOT_RESOLVED'],
  ['EAI_NONAME', 'BT_ERR_HOST_NOT_RESOLVED'],
  ['EAI_NODATA', 'BT_ERR_HOST_NOT_RESOLVED'],
  ['EAI_FAIL', 'BT_ERR_HOST_NOT_RESOLVED'],
  ['ECONNRESET', 'BT_ERR_CONNECTION_RESET'],
  ['EPIPE', 'BT_ERR_CONNECTION_RESET'],
  ['ECONNABORTED', 'BT_ERR_CONNECTION_ABORTED'],
  ['UND_ERR_SOCKET', 'BT_ERR_CONNECTION_ABORTED'],
  ['UND_ERR_ABORTED', 'BT_ERR_CONNECTION_ABORTED'],
  // R47 (connect), R48 (response) and undici's own parser timers all surface as a timeout.
  ['ETIMEDOUT', 'BT_ERR_TIMEOUT'],
  ['UND_ERR_CONNECT_TIMEOUT', 'BT_ERR_TIMEOUT'],
  ['UND_ERR_HEADERS_TIMEOUT', 'BT_ERR_TIMEOUT'],
  ['UND_ERR_BODY_TIMEOUT', 'BT_ERR_TIMEOUT'],
  ['UND_ERR_INFO', 'BT_ERR_INVALID_RESPONSE'],
  ['UND_ERR_HEADERS_OVERFLOW', 'BT_ERR_INVALID_RESPONSE'],
  ['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'BT_ERR_INVALID_RESPONSE'],
  ['UND_ERR_RES_EXCEEDED_MAX_SIZE', 'BT_ERR_INVALID_RESPONSE'],
  // Raised synchronously by undici for a request it refuses to build (a bad header, an unsupported
  // option): retrying cannot help, so these are argument errors rather than network errors.
  ['UND_ERR_INVALID_ARG', 'BT_ERR_INVALID_ARGUMENT'],
  ['UND_ERR_NOT_SUPPORTED', 'BT_ERR_INVALID_ARGUMENT'],
  ['CERT_HAS_EXPIRED', 'BT_ERR_CERT_EXPIRED'],
  ['CERT_NOT_YET_VALID', 'BT_ERR_CERT_EXPIRED'],
  ['ERR_TLS_CERT_ALTNAME_INVALID', 'BT_ERR_CERT_NAME_MISMATCH'],
  ['DEPTH_ZERO_SELF_SIGNED_CERT', 'BT_ERR_CERT_UNTRUSTED'],
  ['SELF_SIGNED_CERT_IN_CHAIN', 'BT_ERR_CERT_UNTRUSTED'],
  ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'BT_ERR_CERT_UNTRUSTED'],
  ['UNABLE_TO_GET_ISSUER_CERT', 'BT_ERR_CERT_UNTRUSTED'],
  ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'BT_ERR_CERT_UNTRUSTED'],
  ['CERT_REVOKED', 'BT_ERR_CERT_REVOKED'],
]);

/** How deep to follow `cause` / `errors` links; undici nests at most two or three levels. */
const MAX_DEPTH = 8;

function codeOf(value: object): string | undefined {
  const code: unknown = Reflect.get(value, 'code');
  return typeof code === 'string' ? code : undefined;
}

function messageOf(value: object): string {
  const message: unknown = Reflect.get(value, 'message');
  return typeof message === 'string' ? message : String(value);
}

/**
 * The error and everything it wraps, outermost first: `cause` chains (undici, fetch) and the
 * `errors` of an AggregateError (Node's happy-eyeballs connect tries every address).
 */
function flatten(error: unknown): object[] {
  const found: object[] = [];
  const visit = (value: unknown, depth: number): void => {
    if (typeof value !== 'object' || value === null || depth > MAX_DEPTH || found.includes(value)) return;
    found.push(value);
    const nested: unknown = Reflect.get(value, 'errors');
    if (Array.isArray(nested)) {
      for (const item of nested) visit(item, depth + 1);
    }
    visit(Reflect.get(value, 'cause'), depth + 1);
  };
  visit(error, 0);
  return found;
}

function classify(value: object): ErrorCode | undefined {
  const code = codeOf(value);
  if (code === undefined) return undefined;
  // undici's SocketError covers both a peer that closed early ('other side closed') and a reply
  // that is not HTTP at all ('bad response', e.g. a 100 nobody asked for).
  if (code === 'UND_ERR_SOCKET' && /^bad (response|upgrade)/.test(messageOf(value))) {
    return 'BT_ERR_INVALID_RESPONSE';
  }
  const mapped = CODE_TABLE.get(code);
  if (mapped !== undefined) return mapped;
  if (code.startsWith('HPE_')) return 'BT_ERR_INVALID_RESPONSE';
  if (code.startsWith('ERR_TLS_') || code.startsWith('CERT_')) {
    return 'BT_ERR_CERT_INVALID';
  }
  return undefined;
}

/** The request an error happened to, for its message. */
export interface FailedRequest {
  method: string;
  url: URL;
  /** Body bytes handed to the connection before the error (omitted: no body). */
  bytesSent?: number;
  /** The final response's head had arrived: the error cut its body. */
  responseStarted?: boolean;
}

/** What undici and Node say, in plain words (their code stays in `cause`). */
const PLAIN: ReadonlyMap<string, string> = new Map([
  ['ECONNREFUSED', 'the server refused the connection (nothing listens on that port)'],
  ['EHOSTUNREACH', 'the host is unreachable'],
  ['EHOSTDOWN', 'the host is down'],
  ['ENETUNREACH', 'the network is unreachable'],
  ['ENETDOWN', 'the network is down'],
  ['EADDRNOTAVAIL', 'no local address could reach the server'],
  ['ECONNRESET', 'the connection was reset by the server'],
  // EPIPE: a write after the server had closed or reset the connection; the same to the user.
  ['EPIPE', 'the connection was reset by the server'],
  ['ECONNABORTED', 'the connection was aborted'],
  ['UND_ERR_SOCKET', 'the server closed the connection'],
  ['UND_ERR_ABORTED', 'the request was aborted'],
  ['ETIMEDOUT', 'the connection timed out'],
  ['UND_ERR_CONNECT_TIMEOUT', 'connecting to the server took longer than connectTimeoutMs (R47)'],
  ['UND_ERR_HEADERS_TIMEOUT', 'no response came within responseTimeoutMs (R48)'],
  ['UND_ERR_BODY_TIMEOUT', 'the response body stopped arriving for longer than responseTimeoutMs'],
  ['UND_ERR_INFO', 'the server’s answer is not valid HTTP'],
  ['UND_ERR_HEADERS_OVERFLOW', 'the response headers are too large'],
  ['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'the response body is not as long as its Content-Length says'],
  ['UND_ERR_RES_EXCEEDED_MAX_SIZE', 'the response is larger than allowed'],
  ['CERT_HAS_EXPIRED', 'the server’s TLS certificate has expired'],
  ['CERT_NOT_YET_VALID', 'the server’s TLS certificate is not valid yet'],
  ['ERR_TLS_CERT_ALTNAME_INVALID', 'the server’s TLS certificate is for another host name'],
  ['DEPTH_ZERO_SELF_SIGNED_CERT', 'the server’s TLS certificate is self-signed'],
  ['SELF_SIGNED_CERT_IN_CHAIN', 'the server’s TLS certificate chain ends in a CA that is not trusted'],
  ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'the server’s TLS certificate is not signed by a trusted CA'],
  ['UNABLE_TO_GET_ISSUER_CERT', 'the server’s TLS certificate is not signed by a trusted CA'],
  ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'the server’s TLS certificate is not signed by a trusted CA'],
  ['CERT_REVOKED', 'the server’s TLS certificate has been revoked'],
]);

function plainWords(mapped: ErrorCode, value: object, request: FailedRequest | undefined): string {
  const code = codeOf(value) ?? '';
  if (mapped === 'BT_ERR_HOST_NOT_RESOLVED') {
    return request === undefined
      ? 'the host name could not be resolved (DNS)'
      : `the host name ${request.url.hostname} could not be resolved (DNS)`;
  }
  if (mapped === 'BT_ERR_INVALID_RESPONSE') {
    if (code.startsWith('HPE_') || /^bad (response|upgrade)/.test(messageOf(value))) {
      return 'the server’s answer is not valid HTTP';
    }
  }
  if (mapped === 'BT_ERR_INVALID_ARGUMENT') return `the request could not be built: ${messageOf(value)}`;
  const known = PLAIN.get(code);
  // Other TLS failures: Node's code is what `openssl s_client` and searches understand.
  if (known === undefined && mapped === 'BT_ERR_CERT_INVALID') return `the TLS connection failed (${code})`;
  return known ?? `it failed: ${messageOf(value)}`;
}

/** Where the request was when the connection failed: "after 3.2 MiB of the body", … */
function progressWords(mapped: ErrorCode, request: FailedRequest | undefined): string {
  const cut = mapped === 'BT_ERR_CONNECTION_RESET' || mapped === 'BT_ERR_CONNECTION_ABORTED';
  if (!cut || request === undefined) return '';
  if (request.responseStarted === true) return ' while the response was arriving';
  if (request.bytesSent === undefined) return ' before it answered';
  if (request.bytesSent === 0) return ' before any of the body was sent';
  return ` after ${formatBytes(request.bytesSent)} of the body`;
}

/**
 * Turns whatever Node or undici threw into a coded TransferError. A TransferError anywhere in the
 * chain wins (e.g. BT_ERR_SOURCE_CHANGED thrown by the body and re-thrown by undici). Otherwise the
 * innermost recognised code wins, because it names the root cause (undici's wrapper only says that
 * the request failed). The message says in plain words which request got what
 * (`PATCH http://h/files/abc: the connection was reset by the server after 3.2 MiB of the body`);
 * Node's and undici's own error stays as `cause`.
 */
export function mapNetworkError(error: unknown, request?: FailedRequest): TransferError {
  const chain = flatten(error);
  const coded = chain.find((value): value is TransferError => value instanceof TransferError);
  if (coded !== undefined) return coded;
  const say = (what: string): string =>
    request === undefined ? what : requestMessage(request.method, request.url, what);
  for (let index = chain.length - 1; index >= 0; index -= 1) {
    const value = chain[index]!;
    const mapped = classify(value);
    if (mapped !== undefined) {
      const what = `${plainWords(mapped, value, request)}${progressWords(mapped, request)}`;
      return new TransferError(mapped, say(what), { cause: error });
    }
  }
  const outer = chain[0];
  const detail = outer === undefined ? String(error) : messageOf(outer);
  const code = outer === undefined ? undefined : codeOf(outer);
  // Unknown to the table: Node's words and code are all there is to go on.
  const what = `a network error: ${detail}${code === undefined ? '' : ` (${code})`}`;
  return new TransferError('BT_ERR_NETWORK', say(what), { cause: error });
}
