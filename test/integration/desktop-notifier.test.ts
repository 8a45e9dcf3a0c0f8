import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { closeNotifier, NOTIFICATION_APP_NAME, notify } from '../../src/host/desktop-notifier.ts';
import { openDbusConnection } from '../../src/net/dbus-connection.ts';
import { startPrivateBus } from '../helpers/dbus-session.ts';
import { startFakeNotificationService } from '../helpers/fake-notification-service.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

/**
 * Completion toasts (R74–R76) through the real notifier code path: dbus-next on a private "session" bus
 * with a fake org.freedesktop.Notifications. Toasts are best-effort: every failure is `false`, never a throw.
 */

afterEach(async () => {
  await closeNotifier();
});

test('notify reaches the notification service with app name, summary and body; the connection is reused', async () => {
  const bus = await startPrivateBus();
  const service = await startFakeNotificationService(bus.address);
  try {
    const env = { DBUS_SESSION_BUS_ADDRESS: bus.address };
    const first = await notify({ summary: 'Uploads finished', body: 'All 3 uploads completed successfully.' }, { env });
    const second = await notify({ summary: 'Uploads finished', body: 'At least one upload failed.' }, { env });
    assert.equal(first, true);
    assert.equal(second, true);
    // The service, the notifier's one shared connection, and the probe itself.
    assert.equal(await uniqueNameCount(bus.address), 3);
    assert.deepEqual(service.notifications, [
      {
        appName: NOTIFICATION_APP_NAME,
        replacesId: 0,
        appIcon: '',
        summary: 'Uploads finished',
        body: 'All 3 uploads completed successfully.',
        actions: [],
        expireTimeout: -1,
        id: 1,
      },
      {
        appName: 'bgtransfer',
        replacesId: 0,
        appIcon: '',
        summary: 'Uploads finished',
        body: 'At least one upload failed.',
        actions: [],
        expireTimeout: -1,
        id: 2,
      },
    ]);
  } finally {
    await service.stop();
    await bus.stop();
  }
});

test('no session bus: false without throwing (missing socket, malformed address, no address at all)', async () => {
  const dir = await makeTempDir('bgtransfer-notify-nobus-');
  try {
    const message = { summary: 's', body: 'b' };
    assert.equal(
      await notify(message, { env: { DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(dir.path, 'x')}` } }),
      false,
    );
    assert.equal(await notify(message, { env: { DBUS_SESSION_BUS_ADDRESS: 'garbage' } }), false);
    assert.equal(await notify(message, { env: {} }), false);
    // XDG_RUNTIME_DIR/bus is the fallback address; there is no bus there either.
    assert.equal(await notify(message, { env: { XDG_RUNTIME_DIR: dir.path } }), false);
  } finally {
    await dir.cleanup();
  }
});

test('a bus without a notification service: false; a service appearing later gets the next one', async () => {
  const bus = await startPrivateBus();
  try {
    const env = { DBUS_SESSION_BUS_ADDRESS: bus.address };
    assert.equal(await notify({ summary: 'nobody', body: 'listens' }, { env }), false);
    const service = await startFakeNotificationService(bus.address);
    try {
      assert.equal(await notify({ summary: 'now', body: 'someone does' }, { env }), true);
      assert.deepEqual(
        service.notifications.map((n) => [n.summary, n.body]),
        [['now', 'someone does']],
      );
    } finally {
      await service.stop();
    }
  } finally {
    await bus.stop();
  }
});

test('the bus going away and coming back, or a different address: a fresh connection is opened', async () => {
  const dir = await makeTempDir('bgtransfer-notify-restart-');
  const socketPath = join(dir.path, 'bus');
  let bus = await startPrivateBus({ socketPath });
  let service = await startFakeNotificationService(bus.address);
  const other = await startPrivateBus();
  const otherService = await startFakeNotificationService(other.address);
  try {
    const env = { DBUS_SESSION_BUS_ADDRESS: `unix:path=${socketPath}` };
    assert.equal(await notify({ summary: 'one', body: '1' }, { env }), true);
    await service.stop();
    await bus.stop();
    assert.equal(await notify({ summary: 'lost', body: '-' }, { env }), false);

    bus = await startPrivateBus({ socketPath });
    service = await startFakeNotificationService(bus.address);
    assert.equal(await notify({ summary: 'two', body: '2' }, { env }), true);
    assert.deepEqual(
      service.notifications.map((n) => n.summary),
      ['two'],
    );

    assert.equal(
      await notify({ summary: 'elsewhere', body: '3' }, { env: { DBUS_SESSION_BUS_ADDRESS: other.address } }),
      true,
    );
    assert.deepEqual(
      otherService.notifications.map((n) => n.summary),
      ['elsewhere'],
    );
  } finally {
    await service.stop();
    await otherService.stop();
    await bus.stop();
    await other.stop();
    await dir.cleanup();
  }
});

/** How many connections (unique names) the bus daemon has, counting the probe's own. */
async function uniqueNameCount(address: string): Promise<number> {
  const probe = await openDbusConnection(address);
  try {
    const reply = await probe.call({
      destination: 'org.freedesktop.DBus',
      path: '/org/freedesktop/DBus',
      interface: 'org.freedesktop.DBus',
      member: 'ListNames',
    });
    const names = reply.body[0];
    assert.ok(Array.isArray(names));
    return names.filter((name) => typeof name === 'string' && name.startsWith(':')).length;
  } finally {
    probe.close();
  }
}
