import { type DbusConnection, openDbusConnection, systemBusAddress } from './dbus-connection.ts';
import { type NetworkManagerWatch, watchNetworkManager } from './network-manager-watch.ts';
import {
  deriveNetworkState,
  describeNetworkState,
  type MeteredSetting,
  type NetworkManagerSnapshot,
  type NetworkState,
  networkStateChanged,
} from './network-state.ts';

export type { MeteredSetting, NetworkState } from './network-state.ts';

/**
 * The engine's view of the network: whether there is connectivity (R50: no attempts without it) and
 * whether the network is metered (R52–R54: the cost policy decides whether a metered network may be used;
 * `Always` ignores cost only).
 *
 * Source: NetworkManager on the system D-Bus (`DBUS_SYSTEM_BUS_ADDRESS` in `options.env`, else
 * `/var/run/dbus/system_bus_socket`), see network-state.ts for how its State/Connectivity/Metered are
 * read. Without a bus, without dbus-next, or without NetworkManager on the bus the monitor falls back to
 * "connected, metered only if the setting says yes" (source `assumed`) and logs one info line. It never
 * throws for those: connectivity detection is an optimisation, not a precondition for uploading.
 */

export interface NetworkMonitor {
  current(): NetworkState;
  /**
   * Resolves once the first reading is in (NetworkManager's state, or the fallback when there is no bus
   * or no NetworkManager); never rejects. Until then `current()` is the fallback, which nobody should
   * act on: the scheduler starts nothing before it resolves (engine/network-gate.ts).
   */
  readonly settled: Promise<void>;
  /** The `metered` setting changed (config reload): recompute from the last NetworkManager reading. */
  setMeteredSetting(setting: MeteredSetting): void;
  /** Called only when `connected` or `metered` changes (not for a change of `source` alone). */
  onChange(listener: (state: NetworkState) => void): () => void;
  close(): Promise<void>;
}

export interface NetworkMonitorOptions {
  metered: MeteredSetting;
  env?: NodeJS.ProcessEnv;
  /** Defaults to no logging. */
  log?: (level: 'info' | 'warn', message: string) => void;
  /**
   * After an established system-bus connection is lost, reconnect after this delay (doubling up to
   * 60 s). The initial fallback (no bus at start) does not retry. @default 5000
   */
  reconnectDelayMs?: number;
}

const MAX_RECONNECT_DELAY_MS = 60_000;

/** A monitor with its first reading in. */
export async function createNetworkMonitor(options: NetworkMonitorOptions): Promise<NetworkMonitor> {
  const monitor = startNetworkMonitor(options);
  await monitor.settled;
  return monitor;
}

/**
 * A monitor that reads the bus in the background: the engine opens without waiting for dbus-next to
 * load and the bus to answer (a tenth of a second of CPU or more), and holds attempts until `settled`.
 */
export function startNetworkMonitor(options: NetworkMonitorOptions): NetworkMonitor {
  const monitor = new BusNetworkMonitor(options);
  monitor.begin();
  return monitor;
}

class ChangeListeners {
  #listeners = new Set<(state: NetworkState) => void>();
  #log: (level: 'info' | 'warn', message: string) => void;

  constructor(log: (level: 'info' | 'warn', message: string) => void) {
    this.#log = log;
  }

  add(listener: (state: NetworkState) => void): () => void {
    // Wrapped so the same function registered twice is called twice and unsubscribes independently.
    const entry = (state: NetworkState): void => listener(state);
    this.#listeners.add(entry);
    return () => this.#listeners.delete(entry);
  }

  emit(state: NetworkState): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener({ ...state });
      } catch (error) {
        this.#log('warn', `network: a change listener threw (${error instanceof Error ? error.message : error})`);
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}

interface BusSession {
  connection: DbusConnection;
  watch: NetworkManagerWatch;
}

class BusNetworkMonitor implements NetworkMonitor {
  #setting: MeteredSetting;
  #address: string;
  #log: (level: 'info' | 'warn', message: string) => void;
  #listeners: ChangeListeners;
  #reconnectBaseMs: number;
  #reconnectDelayMs: number;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #session: BusSession | undefined;
  #state: NetworkState;
  #closed = false;
  settled: Promise<void> = Promise.resolve();

  constructor(options: NetworkMonitorOptions) {
    this.#setting = options.metered;
    this.#address = systemBusAddress(options.env ?? process.env);
    this.#log = options.log ?? (() => {});
    this.#listeners = new ChangeListeners(this.#log);
    this.#reconnectBaseMs = options.reconnectDelayMs ?? 5_000;
    this.#reconnectDelayMs = this.#reconnectBaseMs;
    this.#state = deriveNetworkState(undefined, this.#setting);
  }

  current(): NetworkState {
    return { ...this.#state };
  }

  setMeteredSetting(setting: MeteredSetting): void {
    if (setting === this.#setting) return;
    this.#setting = setting;
    this.#apply(this.#session?.watch.snapshot);
  }

  onChange(listener: (state: NetworkState) => void): () => void {
    return this.#listeners.add(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#reconnectTimer);
    this.#listeners.clear();
    const session = this.#session;
    this.#session = undefined;
    session?.watch.stop();
    session?.connection.close();
  }

  begin(): void {
    this.settled = this.#start().catch((error: unknown) => {
      // #start reports every bus failure itself; anything else must not leave `settled` rejected.
      this.#log('warn', `network: ${error instanceof Error ? error.message : error}`);
    });
  }

  /** Initial connection: exactly one info line, whatever the outcome. */
  async #start(): Promise<void> {
    const outcome = await this.#connect();
    if (typeof outcome === 'string') {
      this.#log('info', `network: ${outcome}; assuming ${describeNetworkState(this.#state)}`);
      return;
    }
    this.#adopt(outcome);
    const where = `system D-Bus at ${this.#address}`;
    if (outcome.watch.snapshot === undefined) {
      this.#log(
        'info',
        `network: NetworkManager is not on the ${where}; assuming ${describeNetworkState(this.#state)} until it appears`,
      );
    } else {
      this.#log('info', `network: following NetworkManager on the ${where}: ${describeNetworkState(this.#state)}`);
    }
  }

  /** Opens the bus and starts watching; a string says why that was not possible. */
  async #connect(): Promise<BusSession | string> {
    let connection: DbusConnection;
    try {
      connection = await openDbusConnection(this.#address, { unref: true });
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
    try {
      const watch = await watchNetworkManager(connection, {
        onUpdate: (snapshot) => this.#onSnapshot(snapshot),
        onError: (message) => this.#log('warn', `network: ${message}`),
      });
      return { connection, watch };
    } catch (error) {
      connection.close();
      return `the system D-Bus at ${this.#address} failed (${error instanceof Error ? error.message : error})`;
    }
  }

  #adopt(session: BusSession): void {
    if (this.#closed) {
      session.watch.stop();
      session.connection.close();
      return;
    }
    this.#session = session;
    this.#reconnectDelayMs = this.#reconnectBaseMs;
    session.connection.onClose(() => this.#onBusLost(session));
    this.#apply(session.watch.snapshot);
  }

  #onSnapshot(snapshot: NetworkManagerSnapshot | undefined): void {
    if (this.#closed) return;
    const before = this.#state.source;
    this.#apply(snapshot);
    if (snapshot === undefined && before !== 'assumed') {
      this.#log('info', `network: NetworkManager left the system bus; assuming ${describeNetworkState(this.#state)}`);
    } else if (snapshot !== undefined && before === 'assumed') {
      this.#log('info', `network: NetworkManager appeared on the system bus: ${describeNetworkState(this.#state)}`);
    }
  }

  #apply(snapshot: NetworkManagerSnapshot | undefined): void {
    const previous = this.#state;
    this.#state = deriveNetworkState(snapshot, this.#setting);
    if (networkStateChanged(previous, this.#state)) this.#listeners.emit(this.#state);
  }

  /** The bus daemon went away (or the socket broke): fall back, then try to reconnect (R50 must not stall). */
  #onBusLost(session: BusSession): void {
    if (this.#closed || this.#session !== session) return;
    session.watch.stop();
    this.#session = undefined;
    this.#apply(undefined);
    this.#log('info', `network: lost the system D-Bus; assuming ${describeNetworkState(this.#state)}`);
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    const delay = this.#reconnectDelayMs;
    this.#reconnectDelayMs = Math.min(delay * 2, MAX_RECONNECT_DELAY_MS);
    this.#reconnectTimer = setTimeout(() => void this.#reconnect(), delay);
    this.#reconnectTimer.unref();
  }

  async #reconnect(): Promise<void> {
    if (this.#closed) return;
    const outcome = await this.#connect();
    if (this.#closed) {
      if (typeof outcome !== 'string') this.#adopt(outcome);
      return;
    }
    if (typeof outcome === 'string') {
      this.#scheduleReconnect();
      return;
    }
    this.#adopt(outcome);
    this.#log('info', `network: reconnected to the system D-Bus: ${describeNetworkState(this.#state)}`);
  }
}
