import type { DbusConnection, DbusSignal } from './dbus-connection.ts';
import type { NetworkManagerSnapshot } from './network-state.ts';

/**
 * Follows NetworkManager's `State`, `Connectivity` and `Metered` on an open system-bus connection
 * (R50, R52–R54): reads them with `Properties.GetAll`, watches `Properties.PropertiesChanged`, and
 * follows the bus name with `NameOwnerChanged` (NetworkManager starting, stopping, restarting).
 *
 * Ordering: every reply and signal carries its arrival `seq`, and each property remembers the `seq` of
 * the message that last set it, so a `GetAll` reply never overwrites a newer `PropertiesChanged` value.
 */

export const NM_BUS_NAME = 'org.freedesktop.NetworkManager';
export const NM_OBJECT_PATH = '/org/freedesktop/NetworkManager';
export const NM_INTERFACE = 'org.freedesktop.NetworkManager';
const PROPERTIES_INTERFACE = 'org.freedesktop.DBus.Properties';
const BUS_NAME = 'org.freedesktop.DBus';

/** D-Bus property name → snapshot field. */
const WATCHED = [
  ['State', 'state'],
  ['Connectivity', 'connectivity'],
  ['Metered', 'metered'],
] as const satisfies readonly (readonly [string, keyof NetworkManagerSnapshot])[];

export interface NetworkManagerWatchHandlers {
  /** A new snapshot (something changed or NetworkManager appeared) or undefined (it left the bus). */
  onUpdate(snapshot: NetworkManagerSnapshot | undefined): void;
  /** A problem worth a warning line (e.g. the properties could not be read). */
  onError(message: string): void;
}

export interface NetworkManagerWatch {
  /** The current values, or undefined while NetworkManager is not on the bus (or not read yet). */
  readonly snapshot: NetworkManagerSnapshot | undefined;
  /** Stops listening; the connection itself stays open (its owner closes it). */
  stop(): void;
}

/**
 * Subscribes, then reads the current owner and properties. Resolves once the initial state is known
 * (snapshot undefined when NetworkManager is not on the bus); rejects only when the bus itself fails.
 */
export async function watchNetworkManager(
  connection: DbusConnection,
  handlers: NetworkManagerWatchHandlers,
): Promise<NetworkManagerWatch> {
  const watch = new Watch(connection, handlers);
  try {
    await watch.start();
  } catch (error) {
    watch.stop();
    throw error;
  }
  return watch;
}

class Watch implements NetworkManagerWatch {
  #connection: DbusConnection;
  #handlers: NetworkManagerWatchHandlers;
  #unsubscribe: () => void;
  #owner: string | undefined;
  /** seq of the message that last told us the owner. */
  #ownerSeq = 0;
  /** Bumped on every owner change so replies meant for a previous owner are dropped. */
  #generation = 0;
  #values: NetworkManagerSnapshot = { state: 0, connectivity: 0, metered: 0 };
  #valueSeqs: Record<keyof NetworkManagerSnapshot, number> = { state: 0, connectivity: 0, metered: 0 };
  #loaded = false;
  #stopped = false;

  constructor(connection: DbusConnection, handlers: NetworkManagerWatchHandlers) {
    this.#connection = connection;
    this.#handlers = handlers;
    this.#unsubscribe = connection.onSignal((signal) => this.#onSignal(signal));
  }

  get snapshot(): NetworkManagerSnapshot | undefined {
    return this.#loaded && this.#owner !== undefined ? { ...this.#values } : undefined;
  }

  async start(): Promise<void> {
    // Subscribe before reading, so no change can slip in between.
    await this.#connection.addMatch(
      `type='signal',sender='${BUS_NAME}',path='/org/freedesktop/DBus',interface='${BUS_NAME}',` +
        `member='NameOwnerChanged',arg0='${NM_BUS_NAME}'`,
    );
    await this.#connection.addMatch(
      `type='signal',sender='${NM_BUS_NAME}',path='${NM_OBJECT_PATH}',interface='${PROPERTIES_INTERFACE}',` +
        `member='PropertiesChanged',arg0='${NM_INTERFACE}'`,
    );
    const { owner, seq } = await this.#connection.getNameOwner(NM_BUS_NAME);
    if (seq > this.#ownerSeq) this.#setOwner(owner, seq, false);
    if (this.#owner !== undefined && !this.#loaded) await this.#refresh(false);
  }

  stop(): void {
    this.#stopped = true;
    this.#unsubscribe();
  }

  #onSignal(signal: DbusSignal): void {
    if (this.#stopped) return;
    if (signal.sender === BUS_NAME && signal.interface === BUS_NAME && signal.member === 'NameOwnerChanged') {
      const [name, , newOwner] = signal.body;
      if (name !== NM_BUS_NAME) return;
      this.#setOwner(typeof newOwner === 'string' && newOwner !== '' ? newOwner : undefined, signal.seq, true);
      return;
    }
    if (
      signal.interface !== PROPERTIES_INTERFACE ||
      signal.member !== 'PropertiesChanged' ||
      signal.path !== NM_OBJECT_PATH ||
      signal.sender !== this.#owner ||
      signal.body[0] !== NM_INTERFACE
    ) {
      return;
    }
    const changed = readVariantMap(signal.body[1]);
    const invalidated = readStringArray(signal.body[2]);
    let touched = false;
    for (const [property, field] of WATCHED) {
      const value = changed.get(property);
      if (value === undefined) continue;
      this.#values[field] = value;
      this.#valueSeqs[field] = signal.seq;
      touched = true;
    }
    if (WATCHED.some(([property]) => invalidated.includes(property))) void this.#refresh(true);
    if (touched && this.#loaded) this.#handlers.onUpdate(this.snapshot);
  }

  #setOwner(owner: string | undefined, seq: number, notify: boolean): void {
    this.#ownerSeq = seq;
    if (owner === this.#owner) return;
    this.#owner = owner;
    this.#generation++;
    this.#loaded = false;
    this.#values = { state: 0, connectivity: 0, metered: 0 };
    this.#valueSeqs = { state: 0, connectivity: 0, metered: 0 };
    if (owner === undefined) {
      if (notify) this.#handlers.onUpdate(undefined);
    } else if (notify) {
      void this.#refresh(true);
    }
  }

  /** GetAll from the current owner; applies each value unless a newer signal already set it. */
  async #refresh(notify: boolean): Promise<void> {
    const owner = this.#owner;
    const generation = this.#generation;
    if (owner === undefined) return;
    try {
      const reply = await this.#connection.call({
        destination: owner,
        path: NM_OBJECT_PATH,
        interface: PROPERTIES_INTERFACE,
        member: 'GetAll',
        signature: 's',
        body: [NM_INTERFACE],
      });
      if (this.#stopped || generation !== this.#generation) return;
      const properties = readVariantMap(reply.body[0]);
      for (const [property, field] of WATCHED) {
        if (this.#valueSeqs[field] > reply.seq) continue;
        // A property NetworkManager does not have (e.g. Metered before NM 1.0) reads as 0, "unknown".
        this.#values[field] = properties.get(property) ?? 0;
        this.#valueSeqs[field] = reply.seq;
      }
      this.#loaded = true;
      if (notify) this.#handlers.onUpdate(this.snapshot);
    } catch (error) {
      if (this.#stopped || generation !== this.#generation || this.#connection.closed) return;
      // Most likely NetworkManager left between the owner lookup and the call; NameOwnerChanged follows.
      this.#handlers.onError(
        `reading NetworkManager properties failed (${error instanceof Error ? error.message : String(error)})`,
      );
    }
  }
}

/**
 * Reads an `a{sv}` value as dbus-next unmarshals it (a plain object of Variant instances, `{ signature,
 * value }`), keeping only uint32-like numbers: that is all the watched properties can be.
 */
function readVariantMap(value: unknown): Map<string, number> {
  const result = new Map<string, number>();
  if (typeof value !== 'object' || value === null) return result;
  for (const [key, variant] of Object.entries(value)) {
    if (typeof variant !== 'object' || variant === null || !('value' in variant)) continue;
    const inner: unknown = variant.value;
    if (typeof inner === 'number' && Number.isInteger(inner) && inner >= 0) result.set(key, inner);
  }
  return result;
}

function readStringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}
