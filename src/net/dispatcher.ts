import { rootCertificates } from 'node:tls';
import { Agent, type Dispatcher } from 'undici';

export interface DispatcherOptions {
  /** R47: a TCP + TLS connect that takes longer than this fails with BT_ERR_TIMEOUT. */
  connectTimeoutMs: number;
  /** PEM texts trusted in addition to the system CAs (e.g. a company or test CA). */
  extraCaCertificates: string[];
}

/** How long an idle keep-alive connection is kept when the server sends no `Keep-Alive: timeout=`. */
const KEEP_ALIVE_TIMEOUT_MS = 4_000;
/** Upper bound for a server-advertised keep-alive timeout. */
const KEEP_ALIVE_MAX_TIMEOUT_MS = 60_000;

/**
 * The one undici Agent the engine shares between transfers: connection pooling per origin, the R47
 * connect timeout, and the trust store.
 *
 * `ca` replaces Node's default trust store, so the extra CAs are appended to `tls.rootCertificates`
 * (the bundled Mozilla roots) rather than given alone: HTTPS keeps trusting public servers. With no
 * extra CAs the option stays unset and Node uses its defaults (including NODE_EXTRA_CA_CERTS).
 *
 * Pipelining stays at 1: uploads are long, non-idempotent requests and must never queue behind each
 * other on one socket.
 */
export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const extra = options.extraCaCertificates;
  return new Agent({
    connect: {
      timeout: options.connectTimeoutMs,
      ca: extra.length > 0 ? [...rootCertificates, ...extra] : undefined,
    },
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    keepAliveMaxTimeout: KEEP_ALIVE_MAX_TIMEOUT_MS,
    pipelining: 1,
  });
}
