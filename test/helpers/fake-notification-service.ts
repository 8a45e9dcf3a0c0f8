import * as dbus from 'dbus-next';

/**
 * A stand-in desktop notification daemon (org.freedesktop.Notifications, the freedesktop Desktop
 * Notifications spec) on a private "session" bus, written with dbus-next. It records every Notify call
 * so tests can check what the toast code (R74–R76) sent.
 */

export interface CapturedNotification {
  appName: string;
  replacesId: number;
  appIcon: string;
  summary: string;
  body: string;
  actions: string[];
  expireTimeout: number;
  /** The id this service returned. */
  id: number;
}

export interface FakeNotificationService {
  readonly notifications: readonly CapturedNotification[];
  /** Leaves the bus. Idempotent. */
  stop(): Promise<void>;
}

const SERVICE_NAME = 'org.freedesktop.Notifications';
const SERVICE_PATH = '/org/freedesktop/Notifications';

class NotificationsInterface extends dbus.interface.Interface {
  readonly captured: CapturedNotification[] = [];

  Notify(
    appName: string,
    replacesId: number,
    appIcon: string,
    summary: string,
    body: string,
    actions: string[],
    _hints: unknown,
    expireTimeout: number,
  ): number {
    const id = this.captured.length + 1;
    this.captured.push({ appName, replacesId, appIcon, summary, body, actions, expireTimeout, id });
    return id;
  }

  GetCapabilities(): string[] {
    return ['body'];
  }

  GetServerInformation(): string[] {
    return ['fake-notification-service', 'bgtransfer tests', '1.0', '1.2'];
  }

  CloseNotification(_id: number): void {}
}
NotificationsInterface.configureMembers({
  methods: {
    Notify: { inSignature: 'susssasa{sv}i', outSignature: 'u' },
    GetCapabilities: { inSignature: '', outSignature: 'as' },
    GetServerInformation: { inSignature: '', outSignature: 'ssss' },
    CloseNotification: { inSignature: 'u', outSignature: '' },
  },
});

export async function startFakeNotificationService(address: string): Promise<FakeNotificationService> {
  const bus = dbus.sessionBus({ busAddress: address });
  // dbus-next emits 'error' on the bus (e.g. when the daemon stops first); unhandled, it would crash.
  bus.on('error', () => {});
  const iface = new NotificationsInterface(SERVICE_NAME);
  bus.export(SERVICE_PATH, iface);
  const reply = await bus.requestName(SERVICE_NAME, dbus.NameFlag.DO_NOT_QUEUE);
  if (reply !== dbus.RequestNameReply.PRIMARY_OWNER) {
    bus.disconnect();
    throw new Error(`could not own ${SERVICE_NAME} (RequestName reply ${reply})`);
  }
  let stopped = false;
  return {
    notifications: iface.captured,
    async stop() {
      if (stopped) return;
      stopped = true;
      // Disconnecting releases the name (the daemon announces NameOwnerChanged); an explicit
      // ReleaseName would never be answered if the daemon is already gone.
      bus.disconnect();
    },
  };
}
