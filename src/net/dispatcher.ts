import { rootCertificates } from 'node:tls';
import type { Dispatcher } from 'undici';
import type { HttpCredential } from './basic-auth.ts';
import { type ProxySetting, proxyRouter } from './proxy-config.ts';
import { forwardProxyInterceptor, proxyConnector } from './proxy-connector.ts';
import { withSocketShims } from './socket-shims.ts';
import { buildConnector, newAgent } from './undici-parts.ts';

export type { ProxySetting } from './proxy-config.ts';

export interface DispatcherOptions {
  /** R47: a TCP + TLS connect that takes longer than this fails with BT_ERR_TIMEOUT (through a proxy: the whole connect). */
  connectTimeoutMs: number;
  /** PEM texts trusted in addition to the system CAs (e.g. a company or test CA), for origins and https proxies. */
  extraCaCertificates: string[];
  /** Direct (`none`, the default), the environment's proxies (`env`), or one proxy for everything (`url`). */
  proxy?: ProxySetting;
  /** R65 `proxyCredential`: `Proxy-Authorization: Basic …` to the proxy; wins over user info in its URL. */
  proxyCredential?: HttpCredential | null;
}

/** How long an idle keep-alive connection is kept when the server sends no `Keep-Alive: timeout=`. */
const KEEP_ALIVE_TIMEOUT_MS = 4_000;
/** Upper bound for a server-advertised keep-alive timeout. */
const KEEP_ALIVE_MAX_TIMEOUT_MS = 60_000;

/**
 * The one undici Agent the engine shares between transfers: connection pooling per origin, the R47
 * connect timeout, the trust store, and the proxy.
 *
 * `ca` replaces Node's default trust store, so the extra CAs are appended to `tls.rootCertificates`
 * (the bundled Mozilla roots) rather than given alone: HTTPS keeps trusting public servers. With no
 * extra CAs the option stays unset and Node uses its defaults (including NODE_EXTRA_CA_CERTS).
 *
 * Behind a proxy (proxy-connector.ts): http origins are requested in absolute-form from the proxy,
 * https origins through a CONNECT tunnel with TLS to the origin inside; a proxy that refuses the
 * tunnel (407, 403…) becomes the request's final response. Throws BT_ERR_INVALID_ARGUMENT for a
 * proxy URL that is not http(s).
 *
 * Every socket reads an answer that arrived before a write error, and supports `Expect: 100-continue`
 * (socket-shims.ts).
 *
 * Pipelining stays at 1: uploads are long, non-idempotent requests and must never queue behind each
 * other on one socket.
 */
export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const extra = options.extraCaCertificates;
  const ca = extra.length > 0 ? [...rootCertificates, ...extra] : undefined;
  const pool = {
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    keepAliveMaxTimeout: KEEP_ALIVE_MAX_TIMEOUT_MS,
    pipelining: 1,
  };
  const router = proxyRouter(options.proxy ?? { mode: 'none' }, options.proxyCredential ?? null);
  if (router === null) {
    return newAgent({
      connect: withSocketShims(buildConnector({ timeout: options.connectTimeoutMs, ca })),
      ...pool,
    });
  }
  const agent = newAgent({
    connect: withSocketShims(proxyConnector({ connectTimeoutMs: options.connectTimeoutMs, ca, router })),
    ...pool,
  });
  return agent.compose(forwardProxyInterceptor(router));
}
