/**
 * The environment a transfer host starts with. The host is shared by every app of the user and
 * outlives the app that happened to start it, so it must not inherit that app's environment (its
 * secrets, its proxies, its NODE_OPTIONS): it keeps only what it needs to run and to reach the user's
 * session. Proxy variables are taken per upload from the creating app instead (core/proxy-env.ts).
 * docs/host.md lists these.
 */
const KEPT_NAMES: ReadonlySet<string> = new Set([
  'HOME',
  'PATH',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'NODE_EXTRA_CA_CERTS',
]);
/** BGTRANSFER_* (home, log level), XDG_* (state and runtime dirs), DBUS_* (network and notifications), LC_* (locale). */
const KEPT_PREFIXES: readonly string[] = ['BGTRANSFER_', 'XDG_', 'DBUS_', 'LC_'];

export function hostEnvironment(env: NodeJS.ProcessEnv, home: string): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (KEPT_NAMES.has(name) || KEPT_PREFIXES.some((prefix) => name.startsWith(prefix))) clean[name] = value;
  }
  // The app id belongs to each connection (its hello), not to the host.
  delete clean.BGTRANSFER_APP_ID;
  clean.BGTRANSFER_HOME = home;
  return clean;
}
