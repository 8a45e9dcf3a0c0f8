import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as dbus from 'dbus-next';
import { NODE_TS_FLAGS } from './process-tools.ts';

/**
 * A stand-in NetworkManager for tests, written with dbus-next: it owns
 * `org.freedesktop.NetworkManager` on the given bus and exports `/org/freedesktop/NetworkManager` with the
 * read-only uint32 properties State, Connectivity and Metered; `set()` changes them and emits
 * `org.freedesktop.DBus.Properties.PropertiesChanged` like the real daemon.
 *
 * In-process: `startFakeNetworkManager(address)`. In another process (when the code under test runs in
 * a host process that must see it come and go independently): `spawnFakeNetworkManager(address)`, which
 * runs test/scripts/fake-network-manager.ts.
 */

export interface FakeNetworkManagerProperties {
  /** NM_STATE: 20 disconnected … 70 connected-global. */
  State: number;
  /** NM_CONNECTIVITY: 1 none … 4 full. */
  Connectivity: number;
  /** NM_METERED: 0 unknown, 1 yes, 2 no, 3 guess-yes, 4 guess-no. */
  Metered: number;
}

export const PROPERTY_NAMES = [
  'State',
  'Connectivity',
  'Metered',
] as const satisfies readonly (keyof FakeNetworkManagerProperties)[];

/** A healthy, unmetered, fully connected network. */
export const ONLINE_UNMETERED: FakeNetworkManagerProperties = Object.freeze({ State: 70, Connectivity: 4, Metered: 4 });

export interface FakeNetworkManager {
  readonly properties: Readonly<FakeNetworkManagerProperties>;
  /** Updates the properties and emits one PropertiesChanged with the changed ones. */
  set(changes: Partial<FakeNetworkManagerProperties>): Promise<void>;
  /** Leaves the bus (the daemon announces NameOwnerChanged to ''). Idempotent. */
  stop(): Promise<void>;
}

const NM_NAME = 'org.freedesktop.NetworkManager';
const NM_PATH = '/org/freedesktop/NetworkManager';

/** The exported interface; dbus-next reads the property values straight off the instance. */
class NetworkManagerInterface extends dbus.interface.Interface {
  State = ONLINE_UNMETERED.State;
  Connectivity = ONLINE_UNMETERED.Connectivity;
  Metered = ONLINE_UNMETERED.Metered;
}
NetworkManagerInterface.configureMembers({
  properties: {
    State: { signature: 'u', access: 'read' },
    Connectivity: { signature: 'u', access: 'read' },
    Metered: { signature: 'u', access: 'read' },
  },
});

export async function startFakeNetworkManager(
  address: string,
  initial: Partial<FakeNetworkManagerProperties> = {},
): Promise<FakeNetworkManager> {
  const bus = dbus.sessionBus({ busAddress: address });
  const failures: unknown[] = [];
  // dbus-next emits 'error' on the bus (e.g. when the daemon is stopped first); unhandled, it would crash.
  bus.on('error', (error: unknown) => failures.push(error));
  const iface = new NetworkManagerInterface(NM_NAME);
  Object.assign(iface, initial);
  bus.export(NM_PATH, iface);
  const reply = await bus.requestName(NM_NAME, dbus.NameFlag.DO_NOT_QUEUE);
  if (reply !== dbus.RequestNameReply.PRIMARY_OWNER) {
    bus.disconnect();
    throw new Error(`could not own ${NM_NAME} (RequestName reply ${reply})`);
  }

  let stopped = false;
  return {
    get properties() {
      return { State: iface.State, Connectivity: iface.Connectivity, Metered: iface.Metered };
    },
    async set(changes) {
      const changed: Partial<FakeNetworkManagerProperties> = {};
      for (const name of PROPERTY_NAMES) {
        const value = changes[name];
        if (value === undefined) continue;
        iface[name] = value;
        changed[name] = value;
      }
      dbus.interface.Interface.emitPropertiesChanged(iface, changed, []);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      // Disconnecting releases the name (the daemon announces NameOwnerChanged); an explicit
      // ReleaseName would never be answered if the daemon is already gone.
      bus.disconnect();
    },
  };
}

/** The same fake in a child process; `set()` resolves once the child confirmed the change was emitted. */
export interface FakeNetworkManagerProcess {
  readonly pid: number;
  set(changes: Partial<FakeNetworkManagerProperties>): Promise<void>;
  /** Ends the child (it leaves the bus) and waits for its exit. Idempotent. */
  stop(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('../scripts/fake-network-manager.ts', import.meta.url));

export async function spawnFakeNetworkManager(
  address: string,
  initial: Partial<FakeNetworkManagerProperties> = {},
): Promise<FakeNetworkManagerProcess> {
  const initialArgs = Object.entries(initial).map(([name, value]) => `${name}=${value}`);
  const child = spawn(process.execPath, [...NODE_TS_FLAGS, SCRIPT, address, ...initialArgs], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const reader = new LineReader(child);
  try {
    await reader.next(/^ready$/, 15_000);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid ?? -1,
    async set(changes) {
      const words = Object.entries(changes).flatMap(([name, value]) => [name, String(value)]);
      child.stdin.write(`set ${words.join(' ')}\n`);
      await reader.next(/^ok set\b/, 5_000);
    },
    stop() {
      stopping ??= (async () => {
        child.stdin.end('quit\n');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

/** Hands out the child's stdout lines in order; the child's stderr is kept for error messages. */
class LineReader {
  #buffer = '';
  #lines: string[] = [];
  #stderr = '';
  #waiter: (() => void) | undefined;
  #ended = false;

  constructor(child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      this.#buffer += chunk;
      const parts = this.#buffer.split('\n');
      this.#buffer = parts.pop() ?? '';
      this.#lines.push(...parts);
      this.#waiter?.();
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderr += chunk;
    });
    child.once('close', () => {
      this.#ended = true;
      this.#waiter?.();
    });
  }

  /** Consumes lines up to and including the first that matches. */
  async next(pattern: RegExp, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.#lines.shift();
      if (line !== undefined) {
        if (pattern.test(line)) return line;
        continue;
      }
      const left = deadline - Date.now();
      if (this.#ended || left <= 0) {
        const why = this.#ended ? 'the fake NetworkManager exited' : `nothing in ${timeoutMs} ms`;
        throw new Error(`waiting for ${pattern}: ${why}\n${this.#stderr.slice(-2000)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiter = undefined;
    }
  }
}
