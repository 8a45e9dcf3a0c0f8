import { createHash } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { Credential } from '../core/operation-extras.ts';
import { createDispatcher } from '../net/dispatcher.ts';
import type { ProxySetting } from '../net/proxy-config.ts';

export interface PoolSettings {
  connectTimeoutMs: number;
  extraCaCertificates: string[];
  /** config `proxy`: "auto" (HTTPS_PROXY/HTTP_PROXY/NO_PROXY), "none", or a proxy URL. */
  proxy: string;
}

/** config `proxy` → the dispatcher's proxy setting. */
export function proxySetting(proxy: string): ProxySetting {
  if (proxy === 'auto') return { mode: 'env' };
  if (proxy === 'none') return { mode: 'none' };
  return { mode: 'url', url: proxy };
}

/**
 * HTTP dispatchers (connection pools) of the engine. A proxy credential belongs to the connection (the
 * CONNECT tunnel is pooled per origin), so each distinct proxyCredential gets its own dispatcher, keyed
 * by a hash — the credential itself is never a key, a log field or a message. Dispatchers replaced by a
 * settings change stay open until no attempt uses them (`retire` + `closeRetired`).
 */
export class DispatcherPool {
  #settings: PoolSettings;
  #active = new Map<string, Dispatcher>();
  #retired: Dispatcher[] = [];

  constructor(settings: PoolSettings) {
    this.#settings = settings;
  }

  get(proxyCredential: Credential | null): Dispatcher {
    const key = proxyCredential
      ? createHash('sha256').update(`${proxyCredential.userName}\u0000${proxyCredential.password}`).digest('hex')
      : '';
    let dispatcher = this.#active.get(key);
    if (!dispatcher) {
      dispatcher = createDispatcher({
        connectTimeoutMs: this.#settings.connectTimeoutMs,
        extraCaCertificates: this.#settings.extraCaCertificates,
        proxy: proxySetting(this.#settings.proxy),
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
