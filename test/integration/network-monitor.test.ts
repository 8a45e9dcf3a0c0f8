import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createNetworkMonitor,
  type NetworkMonitor,
  type NetworkMonitorOptions,
  type NetworkState,
} from '../../src/net/network-monitor.ts';
import { type PrivateBus, startPrivateBus } from '../helpers/dbus-session.ts';
import {
  type FakeNetworkManager,
  spawnFakeNetworkManager,
  startFakeNetworkManager,
} from '../helpers/fake-network-manager.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait-for.ts';

/**
 * The real monitor code path (dbus-next, system-bus address from the options' env) against a private
 * dbus-daemon and a fake NetworkManager (R50: connectivity; R52–R54: metered networks).
 */

/** The brief's bound for noticing a change; measured latencies are printed. */
const CHANGE_DEADLINE_MS = 200;

interface Recorder {
  readonly changes: NetworkState[];
  /** performance.now() when each change reached the listener. */
  readonly times: number[];
  readonly logs: { level: 'info' | 'warn'; message: string }[];
  options(metered: NetworkMonitorOptions['metered'], address: string): NetworkMonitorOptions;
  /** Resolves with the next change after the call and how long it took, measured from `trigger`. */
  nextChange(trigger: () => Promise<void>): Promise<{ state: NetworkState; ms: number }>;
}

function recorder(): Recorder {
  const changes: NetworkState[] = [];
  const times: number[] = [];
  const logs: { level: 'info' | 'warn'; message: string }[] = [];
  return {
    changes,
    times,
    logs,
    options: (metered, address) => ({
      metered,
      env: { DBUS_SYSTEM_BUS_ADDRESS: address },
      log: (level, message) => logs.push({ level, message }),
      reconnectDelayMs: 100,
    }),
    async nextChange(trigger) {
      const count = changes.length;
      const started = performance.now();
      await trigger();
      const state = await waitFor('a network change', () => changes[count], 2_000);
      return { state, ms: (times[count] ?? Number.NaN) - started };
    },
  };
}

const opened: NetworkMonitor[] = [];
async function open(rec: Recorder, options: NetworkMonitorOptions): Promise<NetworkMonitor> {
  const monitor = await createNetworkMonitor(options);
  opened.push(monitor);
  monitor.onChange((state) => {
    rec.times.push(performance.now());
    rec.changes.push(state);
  });
  return monitor;
}

async function closeMonitors(): Promise<void> {
  for (const monitor of opened.splice(0)) await monitor.close();
}
afterEach(closeMonitors);

describe('with NetworkManager on the bus', () => {
  let bus: PrivateBus;
  let nm: FakeNetworkManager;
  beforeEach(async () => {
    bus = await startPrivateBus();
  });
  afterEach(async () => {
    await closeMonitors(); // before the bus goes, so no monitor sees it vanish
    await nm?.stop();
    await bus.stop();
  });

  test('initial state is read from State/Connectivity/Metered', async () => {
    nm = await startFakeNetworkManager(bus.address, { State: 70, Connectivity: 4, Metered: 4 });
    const rec = recorder();
    const monitor = await open(rec, rec.options('auto', bus.address));
    assert.deepEqual(monitor.current(), { connected: true, metered: false, source: 'networkmanager' });
    assert.equal(rec.logs.length, 1);
    assert.equal(rec.logs[0]?.level, 'info');
    assert.match(rec.logs[0]?.message ?? '', /following NetworkManager/);
    await nm.stop();

    // Metered "guess-yes" while only locally connected: still connected, metered.
    nm = await startFakeNetworkManager(bus.address, { State: 50, Connectivity: 3, Metered: 3 });
    const other = recorder();
    const second = await open(other, other.options('auto', bus.address));
    assert.deepEqual(second.current(), { connected: true, metered: true, source: 'networkmanager' });
  });

  test('going offline and back: onChange within 200 ms, only for real changes', async (t) => {
    nm = await startFakeNetworkManager(bus.address, { State: 70, Connectivity: 4, Metered: 2 });
    const rec = recorder();
    const monitor = await open(rec, rec.options('auto', bus.address));
    const latencies: number[] = [];

    const offline = await rec.nextChange(() => nm.set({ State: 20 }));
    latencies.push(offline.ms);
    assert.deepEqual(offline.state, { connected: false, metered: false, source: 'networkmanager' });
    assert.deepEqual(monitor.current(), offline.state);

    const online = await rec.nextChange(() => nm.set({ State: 70 }));
    latencies.push(online.ms);
    assert.deepEqual(online.state, { connected: true, metered: false, source: 'networkmanager' });

    // Connectivity "none" means offline even while State claims connected.
    const none = await rec.nextChange(() => nm.set({ Connectivity: 1 }));
    latencies.push(none.ms);
    assert.equal(none.state.connected, false);
    const full = await rec.nextChange(() => nm.set({ Connectivity: 4 }));
    latencies.push(full.ms);
    assert.equal(full.state.connected, true);

    // Connected-global → connected-site changes nothing the engine cares about: no event.
    await nm.set({ State: 60 });
    await sleep(100);
    assert.equal(rec.changes.length, 4);
    assert.deepEqual(monitor.current(), { connected: true, metered: false, source: 'networkmanager' });

    for (const ms of latencies) assert.ok(ms < CHANGE_DEADLINE_MS, `change seen after ${ms.toFixed(1)} ms`);
    const summary = `change-detection latency (ms): ${latencies.map((ms) => ms.toFixed(2)).join(', ')}`;
    t.diagnostic(summary);
    console.log(summary);
  });

  test('metered on and off follows Metered (1 and 3 are metered)', async () => {
    nm = await startFakeNetworkManager(bus.address, { State: 70, Connectivity: 4, Metered: 4 });
    const rec = recorder();
    const monitor = await open(rec, rec.options('auto', bus.address));

    const on = await rec.nextChange(() => nm.set({ Metered: 1 }));
    assert.deepEqual(on.state, { connected: true, metered: true, source: 'networkmanager' });
    await nm.set({ Metered: 3 }); // guess-yes: still metered, no event
    const off = await rec.nextChange(() => nm.set({ Metered: 2 }));
    assert.deepEqual(off.state, { connected: true, metered: false, source: 'networkmanager' });
    await nm.set({ Metered: 0 }); // unknown: not metered, no event
    const onAgain = await rec.nextChange(() => nm.set({ Metered: 3 }));
    assert.equal(onAgain.state.metered, true);
    await sleep(50);
    assert.deepEqual(
      rec.changes.map((state) => state.metered),
      [true, false, true],
    );
    assert.equal(monitor.current().metered, true);
  });

  test("forced 'yes' / 'no' override Metered; connectivity still comes from NetworkManager", async () => {
    nm = await startFakeNetworkManager(bus.address, { State: 70, Connectivity: 4, Metered: 4 });
    const yes = recorder();
    const forcedYes = await open(yes, yes.options('yes', bus.address));
    const no = recorder();
    const forcedNo = await open(no, no.options('no', bus.address));
    assert.deepEqual(forcedYes.current(), { connected: true, metered: true, source: 'forced' });
    assert.deepEqual(forcedNo.current(), { connected: true, metered: false, source: 'forced' });

    await nm.set({ Metered: 1 });
    await nm.set({ Metered: 2 });
    const offline = await yes.nextChange(() => nm.set({ State: 20 }));
    assert.deepEqual(offline.state, { connected: false, metered: true, source: 'forced' });
    await waitFor('the forced-no monitor to go offline', () => no.changes.length === 1);
    assert.deepEqual(no.changes, [{ connected: false, metered: false, source: 'forced' }]);
    assert.equal(yes.changes.length, 1, 'Metered changes must not reach a forced monitor');
  });

  test('NetworkManager leaving the bus falls back to assumed; a restarted one is picked up', async () => {
    nm = await startFakeNetworkManager(bus.address, { State: 20, Connectivity: 1, Metered: 4 });
    const rec = recorder();
    const monitor = await open(rec, rec.options('auto', bus.address));
    assert.deepEqual(monitor.current(), { connected: false, metered: false, source: 'networkmanager' });

    const gone = await rec.nextChange(() => nm.stop());
    assert.deepEqual(gone.state, { connected: true, metered: false, source: 'assumed' });
    assert.ok(rec.logs.some((entry) => /left the system bus/.test(entry.message)));

    const back = await rec.nextChange(async () => {
      nm = await startFakeNetworkManager(bus.address, { State: 70, Connectivity: 4, Metered: 1 });
    });
    assert.deepEqual(back.state, { connected: true, metered: true, source: 'networkmanager' });
  });

  test('losing the bus falls back to assumed, then reconnects to a new daemon at the same path', async () => {
    const dir = await makeTempDir('bgtransfer-bus-restart-');
    const socketPath = join(dir.path, 'system_bus_socket');
    const address = `unix:path=${socketPath}`;
    let own = await startPrivateBus({ socketPath });
    try {
      nm = await startFakeNetworkManager(own.address, { State: 20, Connectivity: 1, Metered: 4 });
      const rec = recorder();
      const monitor = await open(rec, rec.options('auto', address));
      assert.equal(monitor.current().connected, false);

      const lost = await rec.nextChange(() => own.stop());
      assert.deepEqual(lost.state, { connected: true, metered: false, source: 'assumed' });
      assert.ok(rec.logs.some((entry) => /lost the system D-Bus/.test(entry.message)));
      await nm.stop();

      own = await startPrivateBus({ socketPath });
      const back = await rec.nextChange(async () => {
        nm = await startFakeNetworkManager(own.address, { State: 20, Connectivity: 1, Metered: 1 });
      });
      // Depending on timing the monitor first reconnects without NM (no event) or straight with it.
      assert.deepEqual(back.state, { connected: false, metered: true, source: 'networkmanager' });
    } finally {
      await nm.stop();
      await own.stop();
      await dir.cleanup();
    }
  });
});

describe('without NetworkManager', () => {
  test('no bus (missing socket): assumed connected, one info line, no crash', async () => {
    const dir = await makeTempDir('bgtransfer-nobus-');
    try {
      const address = `unix:path=${join(dir.path, 'missing')}`;
      const rec = recorder();
      const monitor = await open(rec, rec.options('auto', address));
      assert.deepEqual(monitor.current(), { connected: true, metered: false, source: 'assumed' });
      assert.equal(rec.logs.length, 1);
      assert.equal(rec.logs[0]?.level, 'info');
      assert.match(rec.logs[0]?.message ?? '', /cannot connect to D-Bus .*missing.*assuming connected, not metered/);

      const yes = recorder();
      const forced = await open(yes, yes.options('yes', address));
      assert.deepEqual(forced.current(), { connected: true, metered: true, source: 'assumed' });

      // A malformed address is handled the same way.
      const bad = recorder();
      const garbage = await open(bad, bad.options('auto', 'garbage'));
      assert.deepEqual(garbage.current(), { connected: true, metered: false, source: 'assumed' });
      assert.equal(bad.logs.length, 1);

      await sleep(100); // any late 'error' from dbus-next would crash the process here
      assert.equal(rec.logs.length + yes.logs.length + bad.logs.length, 3);
      assert.equal(rec.changes.length + yes.changes.length + bad.changes.length, 0);
    } finally {
      await dir.cleanup();
    }
  });

  test('a bus socket that accepts but never answers: assumed after the 2 s connect timeout, no hang', async () => {
    const dir = await makeTempDir('bgtransfer-mutebus-');
    const sockets: Socket[] = [];
    const server = createServer((socket) => sockets.push(socket));
    try {
      const socketPath = join(dir.path, 'mute');
      server.listen(socketPath);
      await once(server, 'listening');
      const rec = recorder();
      const started = performance.now();
      const monitor = await open(rec, rec.options('no', `unix:path=${socketPath}`));
      const ms = performance.now() - started;
      assert.deepEqual(monitor.current(), { connected: true, metered: false, source: 'assumed' });
      assert.ok(ms >= 1_900 && ms < 4_000, `fallback took ${ms.toFixed(0)} ms`);
      assert.equal(rec.logs.length, 1);
      assert.match(rec.logs[0]?.message ?? '', /no answer within 2000 ms/);
      assert.equal(sockets.length, 1, 'the monitor did connect');
    } finally {
      for (const socket of sockets) socket.destroy();
      server.close();
      await dir.cleanup();
    }
  });

  test('the name is not owned: assumed, one info line; NetworkManager appearing later (another process) is followed', async (t) => {
    const bus = await startPrivateBus();
    try {
      const rec = recorder();
      const monitor = await open(rec, rec.options('auto', bus.address));
      assert.deepEqual(monitor.current(), { connected: true, metered: false, source: 'assumed' });
      assert.equal(rec.logs.length, 1);
      assert.match(rec.logs[0]?.message ?? '', /NetworkManager is not on the system D-Bus/);

      const child = await spawnFakeNetworkManager(bus.address, { State: 20, Connectivity: 1, Metered: 4 });
      try {
        const appeared = await waitFor('the offline state', () => rec.changes[0], 5_000);
        assert.deepEqual(appeared, { connected: false, metered: false, source: 'networkmanager' });

        const online = await rec.nextChange(() => child.set({ State: 70, Connectivity: 4, Metered: 1 }));
        assert.deepEqual(online.state, { connected: true, metered: true, source: 'networkmanager' });
        assert.ok(online.ms < CHANGE_DEADLINE_MS, `change seen after ${online.ms.toFixed(1)} ms`);
        const summary = `change-detection latency from another process, stdin command included: ${online.ms.toFixed(2)} ms`;
        t.diagnostic(summary);
        console.log(summary);
      } finally {
        await child.stop();
      }
      const gone = await waitFor('the fallback', () => rec.changes[2], 5_000);
      assert.deepEqual(gone, { connected: true, metered: false, source: 'assumed' });
    } finally {
      await bus.stop();
    }
  });
});
