import { basename, dirname, join, resolve } from 'node:path';
import { TransferError } from './errors.ts';
import { nodeFs, nodeOs } from './lazy-builtins.ts';

// Not `import … from 'node:fs'`: its ES module facade costs the streams' modules (core/lazy-builtins.ts).
const { existsSync, readFileSync } = nodeFs();

/**
 * Where state lives (docs/api/environment.md): `BGTRANSFER_HOME` if set, else the user's XDG state
 * directory (`$XDG_STATE_HOME/bgtransfer`, default `~/.local/state/bgtransfer`).
 */
export function resolveHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BGTRANSFER_HOME) return resolve(env.BGTRANSFER_HOME);
  const stateHome = env.XDG_STATE_HOME || join(nodeOs().homedir(), '.local', 'state');
  return join(stateHome, 'bgtransfer');
}

export interface HomeLayout {
  home: string;
  database: string;
  responses: string;
  config: string;
  lock: string;
  /** Spooled streams (createUploadFromStreamAsync): files the engine creates and removes. */
  spool: string;
}

export function homeLayout(home: string): HomeLayout {
  return {
    home,
    database: join(home, 'bgtransfer.db'),
    responses: join(home, 'responses'),
    config: join(home, 'config.json'),
    lock: join(home, 'engine.lock'),
    spool: join(home, 'spool'),
  };
}

/** The file the server's response body of an operation is kept in (R46: readable during and after). */
export function responseBodyPath(home: string, guid: string): string {
  // One join, not homeLayout's six: the host asks this once per attempt.
  return join(home, 'responses', `${guid}.body`);
}

/**
 * The app id (docs/api/environment.md): `BGTRANSFER_APP_ID` if set, else the `name` of the nearest
 * package.json above the running script, else the script's file name.
 */
export function resolveAppId(
  env: NodeJS.ProcessEnv = process.env,
  script: string | undefined = process.argv[1],
): string {
  if (env.BGTRANSFER_APP_ID) return env.BGTRANSFER_APP_ID;
  if (!script) return 'node';
  let dir = dirname(resolve(script));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        const name: unknown = JSON.parse(readFileSync(manifest, 'utf8')).name;
        if (typeof name === 'string' && name.length > 0) return name;
      } catch {
        // An unreadable or invalid package.json does not name the app; keep looking upwards.
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return basename(script);
    dir = parent;
  }
}

/** sockaddr_un.sun_path holds 108 bytes on Linux (104 on macOS), NUL included. */
const MAX_SOCKET_PATH_BYTES = process.platform === 'darwin' ? 103 : 107;

/**
 * `${home}/host.sock`. libuv silently truncates a longer path, which would bind some other name (maybe
 * another home's), so a home too deep for a socket is refused with a clear error instead.
 */
export function hostSocketPath(home: string): string {
  const path = join(home, 'host.sock');
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new TransferError(
      'BT_ERR_CONFIG_INVALID',
      `BGTRANSFER_HOME is too long for the host socket: ${path} has more than ${MAX_SOCKET_PATH_BYTES} bytes`,
    );
  }
  return path;
}

export function hostLogPath(home: string): string {
  return join(home, 'host.log');
}
