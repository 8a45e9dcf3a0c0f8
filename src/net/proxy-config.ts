import { BlockList, isIP } from 'node:net';
import { TransferError } from '../core/errors.ts';
import { basicAuthorization, type HttpCredential } from './basic-auth.ts';

/**
 * How requests reach servers: directly (`none`, the default), through the proxies named by the
 * environment (`env`: HTTPS_PROXY / HTTP_PROXY / NO_PROXY, read once when the dispatcher is made;
 * `env` replaces process.env, for tests), or through one proxy for every request (`url`).
 */
export type ProxySetting =
  | { mode: 'none' }
  | { mode: 'env'; env?: Readonly<Record<string, string | undefined>> }
  | { mode: 'url'; url: string };

/** One forward proxy (http: or https:). */
export interface ProxyEndpoint {
  /** Without user info; the path is ignored. */
  url: URL;
  /** `Proxy-Authorization` (RFC 7617 Basic, RFC 9110 §11.7.2), or null. */
  authorization: string | null;
  /** `http://host:port`, for messages: never the credentials. */
  label: string;
}

/** A target as undici's connector and dispatch options describe it. */
export interface ProxyTarget {
  protocol: string;
  /** Without IPv6 brackets or with them; both work. */
  hostname: string;
  /** '' or absent for the scheme's default port. */
  port: string | number | undefined;
}

/** The proxy (or none) for each target: fixed per dispatcher. */
export class ProxyRouter {
  readonly #http: ProxyEndpoint | null;
  readonly #https: ProxyEndpoint | null;
  readonly #bypass: NoProxy;

  constructor(http: ProxyEndpoint | null, https: ProxyEndpoint | null, bypass: NoProxy) {
    this.#http = http;
    this.#https = https;
    this.#bypass = bypass;
  }

  /** The proxy for `target`, or null to connect directly. */
  select(target: ProxyTarget): ProxyEndpoint | null {
    const proxy = target.protocol === 'https:' ? this.#https : target.protocol === 'http:' ? this.#http : null;
    if (proxy === null) return null;
    const port = Number(target.port) || (target.protocol === 'https:' ? 443 : 80);
    return this.#bypass.matches(unbracket(target.hostname).toLowerCase(), port) ? null : proxy;
  }
}

/**
 * The router for a setting, or null when every request goes direct (no proxy configured).
 * `credential` (R65 `proxyCredential`) wins over user info in the proxy URL. Rejects a proxy URL that
 * is not http(s) with BT_ERR_INVALID_ARGUMENT; the message never repeats the URL's user info.
 *
 * `env` follows undici's EnvHttpProxyAgent (and so Node's own fetch): the lower-case name wins over
 * the upper-case one, https targets use HTTPS_PROXY or else HTTP_PROXY, and loopback is proxied like
 * any host unless NO_PROXY names it. NO_PROXY: comma/space-separated; `*` alone turns proxies off;
 * `host`, `.host` and `*.host` match the host and its subdomains; `host:port` only that port; IPv6
 * as `[::1]`, `[::1]:8080` or `::1`; CIDR blocks (`10.0.0.0/8`, `fd00::/8`) match IP literals.
 */
export function proxyRouter(setting: ProxySetting, credential: HttpCredential | null): ProxyRouter | null {
  if (setting.mode === 'none') return null;
  if (setting.mode === 'url') {
    const proxy = proxyEndpoint(setting.url, credential);
    return new ProxyRouter(proxy, proxy, new NoProxy(''));
  }
  const env = setting.env ?? process.env;
  const read = (name: string): string | undefined => {
    const value = env[name.toLowerCase()] || env[name.toUpperCase()];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const httpValue = read('http_proxy');
  const httpsValue = read('https_proxy') ?? httpValue;
  if (httpValue === undefined && httpsValue === undefined) return null;
  return new ProxyRouter(
    httpValue === undefined ? null : proxyEndpoint(httpValue, credential),
    httpsValue === undefined ? null : proxyEndpoint(httpsValue, credential),
    new NoProxy(read('no_proxy') ?? ''),
  );
}

/** A proxy URL (`http://[user:pass@]host[:port]`; without a scheme, http is meant, as curl does). */
export function proxyEndpoint(value: string, credential: HttpCredential | null): ProxyEndpoint {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`);
  } catch {
    // The text may hold a password: neither it nor URL's error (which quotes it as `input`) is kept.
    throw new TransferError('BT_ERR_INVALID_ARGUMENT', 'the proxy setting is not a valid URL');
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new TransferError(
      'BT_ERR_INVALID_ARGUMENT',
      `the proxy must be an http:// or https:// URL with a host (got ${url.protocol}//${url.host})`,
    );
  }
  const fromUrl: HttpCredential | null =
    url.username === '' ? null : { userName: safeDecode(url.username), password: safeDecode(url.password) };
  const login = credential ?? fromUrl;
  const bare = new URL(`${url.protocol}//${url.host}`);
  return {
    url: bare,
    authorization: login === null ? null : basicAuthorization(login),
    label: bare.origin,
  };
}

/** NO_PROXY as parsed once. */
export class NoProxy {
  readonly #all: boolean;
  readonly #hosts: Array<{ host: string; port: number }> = [];
  readonly #blocks = new BlockList();
  #hasBlocks = false;

  constructor(value: string) {
    let all = false;
    for (const entry of value.split(/[,\s]+/)) {
      if (entry === '') continue;
      if (entry === '*') {
        all = true;
        continue;
      }
      if (this.#addBlock(entry)) continue;
      const { host, port } = splitHostPort(entry);
      this.#hosts.push({ host: host.replace(/^\*?\./, '').toLowerCase(), port });
    }
    this.#all = all;
  }

  /** Whether a request to `hostname` (lower-case, no brackets) on `port` goes direct. */
  matches(hostname: string, port: number): boolean {
    if (this.#all) return true;
    const family = isIP(hostname);
    if (this.#hasBlocks && family !== 0 && this.#blocks.check(hostname, family === 6 ? 'ipv6' : 'ipv4')) return true;
    return this.#hosts.some(
      (rule) =>
        (rule.port === 0 || rule.port === port) && (hostname === rule.host || hostname.endsWith(`.${rule.host}`)),
    );
  }

  #addBlock(entry: string): boolean {
    const match = /^(.+)\/(\d{1,3})$/.exec(entry);
    if (match === null) return false;
    const address = unbracket(match[1] ?? '');
    const family = isIP(address);
    const prefix = Number(match[2]);
    if (family === 0 || prefix > (family === 6 ? 128 : 32)) return false;
    this.#blocks.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4');
    this.#hasBlocks = true;
    return true;
  }
}

/** `host`, `host:port`, `[v6]`, `[v6]:port` or a bare `v6` (no port: its colons are the address's). */
function splitHostPort(entry: string): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed !== null) return { host: bracketed[1] ?? '', port: Number(bracketed[2] ?? 0) };
  const withPort = /^([^:]+):(\d+)$/.exec(entry);
  if (withPort !== null) return { host: withPort[1] ?? '', port: Number(withPort[2]) };
  return { host: entry, port: 0 };
}

function unbracket(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
