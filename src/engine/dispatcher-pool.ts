import { createHash } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { OperationExtras } from '../core/operation-extras.ts';
import { createDispatcher } from '../net/dispatcher.ts';
import type { ProxySetting } from '../net/proxy-config.ts';

export interface PoolSettings {
  connectTimeoutMs: number;
  extraCaCertificates: string[];
  /** config `proxy`: "auto" (HTTPS_PROXY/HTTP_PROXY/NO_PROXY), "none", or a proxy URL. */
  proxy: string;
}

/**
 * config `proxy` → the dispatcher's proxy setting. "auto" uses the proxy variables the app had when it
 * created the upload, or (for an upload stored without them) the engine process's environment.
 */
export function proxySetting(proxy: string, proxyEnv: Readonly<Record<string, string>> | null = null): ProxySetting {
  if (proxy === 'auto') return proxyEnv === null ? { mode: 'env' } : { mode: 'env', env: proxyEnv };
  if (proxy === 'none') return { mode: 'none' };
  return { mode: 'url', url: proxy };
}

/**
 * HTTP dispatchers (connection pools) of the engine. A proxy credential belongs to the connection (the
 * CONNECT tunnel is pooled per origin), and so do the app's proxy variables, so each distinct pair gets
 * its own dispatcher, keyed by a hash — neither is ever a key, a log field or a message. Dispatchers replaced by a
 * settings change stay open until no attempt uses them (`retire` + `closeRetired`).
 */
export class DispatcherPool {
  #settings: PoolSettings;
  #active = new Map<string, Dispatcher>();
  #retired: Dispatcher[] = [];

  constructor(settings: PoolSettings) {
    this.#settings = settings;
  }

  get({ proxyCredential, proxyEnv }: Pick<OperationExtras, 'proxyCredential' | 'proxyEnv'>): Dispatcher {
    const key =
      proxyCredential || proxyEnv
        ? createHash('sha256')
            .update(JSON.stringify([proxyCredential, proxyEnv]))
            .digest('hex')
        : '';
    let dispatcher = this.#active.get(key);
    if (!dispatcher) {
      dispatcher = createDispatcher({
        connectTimeoutMs: this.#settings.connectTimeoutMs,
        extraCaCertificates: this.#settings.extraCaCertificates,
        proxy: proxySetting(this.#settings.proxy, proxyEnv),
        proxyCredential,
      });
      this.#active.set(key, dispatcher);
    }
    return dispatcher;
  }

  /** New settings: later attempts get new dispatchers; the old ones wait for closeRetired(). */
  reconfigure(settings: PoolSettings): void {
    this.#settings = settings;
    this.#retired.push(...this.#active.values());
    this.#active = new Map();
  }

  /** Call when no attempt runs. */
  closeRetired(): void {
    for (const dispatcher of this.#retired.splice(0)) void dispatcher.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    const all = [...this.#active.values(), ...this.#retired.splice(0)];
    this.#active.clear();
    await Promise.allSettled(all.map((dispatcher) => dispatcher.close()));
  }
}
