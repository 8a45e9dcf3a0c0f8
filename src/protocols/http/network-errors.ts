import { type ErrorCode, TransferError } from '../../core/errors.ts';

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

/**
 * Turns whatever Node or undici threw into a coded TransferError. A TransferError anywhere in the
 * chain wins (e.g. BT_ERR_SOURCE_CHANGED thrown by the body and re-thrown by undici). Otherwise the
 * innermost recognised code wins, because it names the root cause (undici's wrapper only says that
 * the request failed). The original code is kept in the message for logs.
 */
export function mapNetworkError(error: unknown): TransferError {
  const chain = flatten(error);
  const coded = chain.find((value): value is TransferError => value instanceof TransferError);
  if (coded !== undefined) return coded;
  for (let index = chain.length - 1; index >= 0; index -= 1) {
    const value = chain[index]!;
    const mapped = classify(value);
    if (mapped !== undefined) {
      return new TransferError(mapped, `${messageOf(value)} (${codeOf(value)})`, { cause: error });
    }
  }
  const outer = chain[0];
  const detail = outer === undefined ? String(error) : messageOf(outer);
  const code = outer === undefined ? undefined : codeOf(outer);
  return new TransferError('BT_ERR_NETWORK', code === undefined ? detail : `${detail} (${code})`, { cause: error });
}
