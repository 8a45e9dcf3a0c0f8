/**
 * What only the engine side (the transfer host, an in-process engine, the CLI's commands) may load: the
 * light-import tests check on the sources, and the built-package tests on the bundles, that an app's
 * `import('bgtransfer')` and its socket client load none of it.
 */

/** Packages only the engine, the host or the CLI's commands need. */
export const ENGINE_PACKAGES = ['better-sqlite3', 'undici', 'basic-ftp', 'dbus-next'];

/** Packages the app side never loads: the engine's, and the host's and the CLI's own. */
export const APP_SIDE_FORBIDDEN_PACKAGES = [...ENGINE_PACKAGES, 'pino', 'zod', 'commander', 'cli-progress'];

/** Source folders of the engine side (the host, the engine, the store, the network and the protocols). */
export const ENGINE_FOLDERS = [
  'src/engine/',
  'src/store/',
  'src/host/',
  'src/net/',
  'src/protocols/http/',
  'src/protocols/tus/',
];
