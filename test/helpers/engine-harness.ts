import { join } from 'node:path';
import { type Config, DEFAULT_CONFIG } from '../../src/core/config.ts';
import { BackgroundTransferCostPolicy, BackgroundTransferPriority } from '../../src/core/enums.ts';
import { createLogger } from '../../src/core/logger.ts';
import { DEFAULT_REQUEST_EXTRAS } from '../../src/core/operation-extras.ts';
import type { OperationSnapshot, OperationSpec } from '../../src/core/snapshot.ts';
import { Engine } from '../../src/engine/engine.ts';
import type { NetworkStateSource } from '../../src/engine/network-gate.ts';
import type { OperationStore } from '../../src/store/operation-store.ts';
import { SqliteOperationStore } from '../../src/store/sqlite-store.ts';
import { makeTempDir } from './temp-dir.ts';

/** A network state the test sets by hand (the D-Bus path has its own tests). */
export class ManualNetwork implements NetworkStateSource {
  #state = { connected: true, metered: false };
  readonly #listeners = new Set<(state: { connected: boolean; metered: boolean }) => void>();

  current() {
    return { ...this.#state };
  }
  onChange(listener: (state: { connected: boolean; metered: boolean }) => void) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  set(state: Partial<{ connected: boolean; metered: boolean }>): void {
    this.#state = { ...this.#state, ...state };
    for (const listener of this.#listeners) listener(this.current());
  }
}

export interface EngineHarness {
  engine: Engine;
  network: ManualNetwork;
  home: string;
  /** Every snapshot the engine published, in order. */
  updates: OperationSnapshot[];
  spec(overrides: Partial<OperationSpec> & { sourcePath: string; requestedUri: string }): OperationSpec;
  /** Resolves with the first published snapshot of `guid` that matches. */
  waitFor(
    guid: string,
    predicate: (snapshot: OperationSnapshot) => boolean,
    timeoutMs?: number,
  ): Promise<OperationSnapshot>;
  close(): Promise<void>;
}

export interface EngineHarnessOptions {
  /** Wraps the SQLite store the engine opens (e.g. to count its calls). */
  wrapStore?: (store: OperationStore) => OperationStore;
  /** The network the engine watches (one of the test's); a fresh manual network otherwise. */
  network?: ManualNetwork;
}

/** A real engine on a temp home with a SQLite store and a manual network. */
export async function startEngine(
  config: Partial<Config> = {},
  options: EngineHarnessOptions = {},
): Promise<EngineHarness> {
  const dir = await makeTempDir('engine-');
  const home = join(dir.path, 'home');
  const network = options.network ?? new ManualNetwork();
  const engine = Engine.open({
    home,
    config: { ...DEFAULT_CONFIG, ...config },
    openStore: (path) => {
      const store = SqliteOperationStore.open(path);
      return options.wrapStore ? options.wrapStore(store) : store;
    },
    logger: createLogger('engine-test'),
    network,
  });
  const updates: OperationSnapshot[] = [];
  const waiters = new Set<() => void>();
  engine.onUpdate((snapshot) => {
    updates.push(snapshot);
    for (const waiter of waiters) waiter();
  });
  let counter = 0;
  return {
    engine,
    network,
    home,
    updates,
    spec: (overrides) => ({
      guid: `op-${++counter}`,
      appId: 'engine-test',
      method: 'PUT',
      headers: [],
      costPolicy: BackgroundTransferCostPolicy.default,
      priority: BackgroundTransferPriority.default,
      group: null,
      transferGroup: null,
      // Plain HTTP unless a test asks for negotiation: request counts stay those of the upload itself.
      extras: { ...DEFAULT_REQUEST_EXTRAS, resumeProtocol: 'none' },
      ...overrides,
    }),
    waitFor(guid, predicate, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = updates.find((s) => s.guid === guid && predicate(s));
          if (!match) return;
          cleanup();
          resolve(match);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `timed out waiting for ${guid}; last: ${JSON.stringify(updates.filter((s) => s.guid === guid).at(-1)?.progress)}`,
            ),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async close() {
      await engine.close();
      await dir.cleanup();
    },
  };
}
