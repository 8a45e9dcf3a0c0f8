import { isIPv6, type Socket } from 'node:net';
import type { buildConnector as BuildConnector, Dispatcher } from 'undici';
import { TransferError } from '../core/errors.ts';
import type { ProxyEndpoint, ProxyRouter } from './proxy-config.ts';
import { openTunnel } from './proxy-tunnel.ts';
import { buildConnector } from './undici-parts.ts';

export interface ProxyConnectorOptions {
  /** R47: the whole connect (to the proxy, CONNECT, TLS to the origin) within this time. */
  connectTimeoutMs: number;
  /** The trust store for TLS to origins (requestTls) and to an https proxy (proxyTls); undefined = Node's. */
  ca: string[] | undefined;
  router: ProxyRouter;
}

/**
 * undici's `connect` for an Agent behind proxies. Per target (the Agent keeps one pool per origin):
 * - no proxy: TCP or TLS straight to the origin;
 * - an http origin: a connection to the proxy itself (TLS for an https proxy); the requests on it
 *   are rewritten to absolute-form by `forwardProxyInterceptor` (RFC 9112 §3.2.2);
 * - an https origin: CONNECT through the proxy (RFC 9110 §9.3.6), then TLS to the origin inside the
 *   tunnel, verified against `ca` and the origin's name as for a direct connection.
 */
export function proxyConnector(options: ProxyConnectorOptions): BuildConnector.connector {
  const connect = buildConnector({ timeout: options.connectTimeoutMs, ca: options.ca });
  return (target, callback) => {
    const proxy = options.router.select(target);
    if (proxy === null) {
      connect(target, callback);
      return;
    }
    if (target.protocol !== 'https:') {
      connect(proxyTarget(proxy), callback);
      return;
    }
    tunnel(connect, target, proxy, options.connectTimeoutMs, callback);
  };
}

/**
 * A dispatch interceptor: requests to an http origin that the router sends through a proxy go out
 * in absolute-form (`PUT http://host:port/path`), with the proxy's `Proxy-Authorization` (which
 * replaces one the app set). undici still writes `Host` for the origin. Other requests pass as they are.
 */
export function forwardProxyInterceptor(router: ProxyRouter): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (options, handler) => {
    if (options.origin === undefined) return dispatch(options, handler);
    const origin = new URL(String(options.origin));
    const proxy = origin.protocol === 'http:' ? router.select(origin) : null;
    if (proxy === null) return dispatch(options, handler);
    let headers = flatHeaders(options.headers);
    if (proxy.authorization !== null) {
      headers = dropHeader(headers, 'proxy-authorization');
      headers.push('proxy-authorization', proxy.authorization);
    }
    return dispatch({ ...options, path: `${origin.origin}${options.path}`, headers }, handler);
  };
}

type ConnectTarget = Parameters<BuildConnector.connector>[0];

/** Where to connect to reach the proxy itself. */
function proxyTarget(proxy: ProxyEndpoint): ConnectTarget {
  const { url } = proxy;
  return {
    protocol: url.protocol,
    hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    host: url.host,
    port: url.port || (url.protocol === 'https:' ? '443' : '80'),
  };
}

/** Proxy connection → CONNECT → TLS to the origin, all within one deadline (R47). */
function tunnel(
  connect: BuildConnector.connector,
  target: ConnectTarget,
  proxy: ProxyEndpoint,
  timeoutMs: number,
  callback: BuildConnector.Callback,
): void {
  const port = target.port || '443';
  const authority = `${isIPv6(target.hostname) ? `[${target.hostname}]` : target.hostname}:${port}`;
  let current: Socket | null = null;
  let done = false;
  const finish = (error: Error | null, socket: Socket | null): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    if (error !== null || socket === null) {
      current?.destroy();
      callback(error ?? new Error('no socket'), null);
      return;
    }
    callback(null, socket);
  };
  const timer = setTimeout(() => {
    finish(
      new TransferError(
        'BT_ERR_TIMEOUT',
        `connecting to ${authority} through the proxy ${proxy.label} took more than ${timeoutMs} ms (R47)`,
      ),
      null,
    );
  }, timeoutMs);
  // A socket that arrives after the deadline is closed at once.
  const settle = (error: Error | null, socket: Socket | null): void => {
    if (done) socket?.destroy();
    else finish(error, socket);
  };
  connect(proxyTarget(proxy), (error, proxySocket) => {
    if (error !== null || done) {
      settle(error, proxySocket);
      return;
    }
    current = proxySocket;
    openTunnel(proxySocket, authority, proxy.authorization, proxy.label).then(
      () => {
        if (done) return;
        connect({ ...target, httpSocket: proxySocket }, settle);
      },
      (reason: unknown) => finish(reason instanceof Error ? reason : new Error(String(reason)), null),
    );
  });
}

/** Dispatch headers in undici's flat form: name, value, name, value, … */
function flatHeaders(headers: Dispatcher.DispatchOptions['headers']): string[] {
  const flat: string[] = [];
  if (headers === null || headers === undefined) return flat;
  if (Array.isArray(headers)) {
    for (const item of headers as unknown[]) flat.push(String(item));
    return flat;
  }
  const entries: Iterable<[string, string | string[] | undefined]> =
    Symbol.iterator in headers
      ? (headers as Iterable<[string, string | string[] | undefined]>)
      : Object.entries(headers as Record<string, string | string[] | undefined>);
  for (const [name, value] of entries) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) flat.push(name, item);
  }
  return flat;
}

function dropHeader(flat: string[], name: string): string[] {
  const kept: string[] = [];
  for (let index = 0; index + 1 < flat.length; index += 2) {
    if (flat[index]?.toLowerCase() !== name) kept.push(flat[index] ?? '', flat[index + 1] ?? '');
  }
  return kept;
}
