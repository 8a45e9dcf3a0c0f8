import { type DbusConnection, openDbusConnection, sessionBusAddress } from '../net/dbus-connection.ts';

/**
 * Desktop notifications ("toasts", R74–R76) through `org.freedesktop.Notifications.Notify` on the
 * session bus. Best-effort by design, as on Windows where toasts are silently dropped unless the app is
 * toast-capable and the user may turn them off (R76): every failure (no dbus-next, no session bus, no
 * notification service, a slow service) makes `notify` resolve false, never reject.
 *
 * One connection is opened lazily and reused; it does not keep the process alive on its own. A change of
 * the bus address between calls, or a lost connection, opens a fresh one. `closeNotifier()` releases it.
 */

export interface DesktopNotification {
  summary: string;
  body: string;
}

export interface NotifyOptions {
  /** Where `DBUS_SESSION_BUS_ADDRESS` (or `XDG_RUNTIME_DIR`) is read. @default process.env */
  env?: NodeJS.ProcessEnv;
}

export const NOTIFICATION_APP_NAME = 'bgtransfer';

const NOTIFY_TIMEOUT_MS = 3_000;
/** Notify's expire_timeout: -1 lets the notification server decide. */
const EXPIRE_DEFAULT = -1;

let shared: { address: string; connection: Promise<DbusConnection | undefined> } | undefined;

/** Shows a notification; true when the notification service accepted it. */
export async function notify(message: DesktopNotification, options: NotifyOptions = {}): Promise<boolean> {
  const address = sessionBusAddress(options.env ?? process.env);
  if (address === undefined) return false;
  const connection = await connectionFor(address);
  if (connection === undefined) return false;
  try {
    await connection.call(
      {
        destination: 'org.freedesktop.Notifications',
        path: '/org/freedesktop/Notifications',
        interface: 'org.freedesktop.Notifications',
        member: 'Notify',
        // app_name, replaces_id, app_icon, summary, body, actions, hints, expire_timeout
        signature: 'susssasa{sv}i',
        body: [NOTIFICATION_APP_NAME, 0, '', message.summary, message.body, [], {}, EXPIRE_DEFAULT],
      },
      NOTIFY_TIMEOUT_MS,
    );
    return true;
  } catch {
    // ServiceUnknown (no notification daemon), a timeout, or the bus going away: R76, silently dropped.
    return false;
  }
}

/** Closes the shared session-bus connection, if one is open. */
export async function closeNotifier(): Promise<void> {
  const current = shared;
  shared = undefined;
  const connection = await current?.connection;
  connection?.close();
}

function connectionFor(address: string): Promise<DbusConnection | undefined> {
  if (shared !== undefined && shared.address === address) return shared.connection;
  const previous = shared;
  void previous?.connection.then((connection) => connection?.close());
  const entry = {
    address,
    connection: openDbusConnection(address, { unref: true }).then(
      (connection) => {
        connection.onClose(() => {
          if (shared === entry) shared = undefined;
        });
        return connection;
      },
      () => {
        // DbusUnavailableError. Not cached: the session bus may come up later (the user logs in).
        if (shared === entry) shared = undefined;
        return undefined;
      },
    ),
  };
  shared = entry;
  return entry.connection;
}
