import { TransferError } from '../core/errors.ts';

/**
 * Windows.Foundation.Uri: `new Uri(s)` and `Uri(s)` (no `new`, as in the seed's JavaScript sample)
 * both work; a string that is not an absolute URI throws BT_ERR_INVALID_URI (E4).
 */
class UriImpl {
  readonly #url: URL;

  constructor(uri: string | URL | UriImpl) {
    this.#url = parseAbsolute(uri);
  }

  /** The normalized absolute URI. */
  get absoluteUri(): string {
    return this.#url.href;
  }
  get rawUri(): string {
    return this.#url.href;
  }
  get displayUri(): string {
    return this.#url.href;
  }
  /** "http", "https", "ftp" (no colon). */
  get schemeName(): string {
    return this.#url.protocol.replace(/:$/, '');
  }
  get host(): string {
    return this.#url.hostname;
  }
  /** The port, with the scheme's default when the URI names none (as WinRT does). */
  get port(): number {
    if (this.#url.port) return Number(this.#url.port);
    return DEFAULT_PORTS[this.schemeName] ?? 0;
  }
  get path(): string {
    return this.#url.pathname;
  }
  /** The query including its leading "?" (WinRT), or "". */
  get query(): string {
    return this.#url.search;
  }
  get fragment(): string {
    return this.#url.hash;
  }
  get userName(): string {
    return decodeURIComponent(this.#url.username);
  }
  toString(): string {
    return this.#url.href;
  }
  toJSON(): string {
    return this.#url.href;
  }
}

// ftps:// is explicit FTPS (AUTH TLS on the control port), so it shares ftp's port 21.
const DEFAULT_PORTS: Readonly<Record<string, number>> = { http: 80, https: 443, ftp: 21, ftps: 21 };

function parseAbsolute(uri: string | URL | UriImpl): URL {
  if (uri instanceof URL) return new URL(uri.href);
  if (uri instanceof UriImpl) return new URL(uri.absoluteUri);
  if (typeof uri !== 'string') {
    throw new TransferError('BT_ERR_INVALID_URI', `expected a URI string, got ${typeof uri}`);
  }
  try {
    return new URL(uri.trim());
  } catch (error) {
    throw new TransferError('BT_ERR_INVALID_URI', `not an absolute URI: ${JSON.stringify(uri)}`, { cause: error });
  }
}

export type Uri = UriImpl;

export interface UriConstructor {
  new (uri: string | URL | Uri): Uri;
  (uri: string | URL | Uri): Uri;
  readonly prototype: Uri;
}

/** A Proxy lets the class be called without `new`, as WinJS-era code does. */
export const Uri = new Proxy(UriImpl, {
  apply(target, _thisArg, args: [string | URL | Uri]) {
    return new target(...args);
  },
}) as unknown as UriConstructor;

export function isUri(value: unknown): value is Uri {
  return value instanceof UriImpl;
}
