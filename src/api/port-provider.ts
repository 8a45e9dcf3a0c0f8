import { TransferError } from '../core/errors.ts';
import { resolveAppId, resolveHome } from '../core/paths.ts';
import { withYoungGenerationHeld } from '../core/young-generation.ts';
import type { TransferPort } from '../ipc/transfer-port.ts';

/**
 * Which engine this process talks to: BGTRANSFER_HOST=inproc runs it here; `auto` (the default) talks
 * to the per-user transfer host. One port per process, opened lazily on the first call that needs it.
 *
 * Both ports are imported only when one is opened, so `import('bgtransfer')` loads the app-side classes
 * alone. An app that talks to the host never loads the engine, SQLite or the protocols (the in-process
 * port brings them all); it loads the socket client (with zod for the host's replies) at its first call.
 */
let current: { home: string; port: Promise<TransferPort> } | undefined;

export function getPort(env: NodeJS.ProcessEnv = process.env): Promise<TransferPort> {
  const home = resolveHome(env);
  if (current && current.home === home) return current.port;
  const mode = env.BGTRANSFER_HOST ?? 'auto';
  let port: Promise<TransferPort>;
  if (mode === 'inproc') {
    // The engine's modules and store are long-lived: V8 must not grow the young generation for them.
    port = withYoungGenerationHeld(() =>
      import('../ipc/inproc-port.ts').then(({ InprocPort }) => InprocPort.open(home)),
    );
  } else if (mode === 'auto') {
    port = import('../ipc/socket-port.ts').then(({ SocketPort }) => new SocketPort(home, { env }));
  } else {
    port = Promise.reject(
      new TransferError(
        'BT_ERR_CONFIG_INVALID',
        `BGTRANSFER_HOST must be "auto" or "inproc", not ${JSON.stringify(mode)}`,
      ),
    );
  }
  // A failed open is not cached: the next call tries again (the home may have been freed).
  const entry = { home, port };
  port.catch(() => {
    if (current === entry) current = undefined;
  });
  current = entry;
  return port;
}

export function currentAppId(env: NodeJS.ProcessEnv = process.env): string {
  return resolveAppId(env);
}

/**
 * Closes this process's connection to the engine. In-process, running transfers stop and stay
 * persisted; the next process to open the same home recovers them (R12, R13).
 */
export async function closeAsync(): Promise<void> {
  const entry = current;
  current = undefined;
  if (!entry) return;
  const port = await entry.port.catch(() => undefined);
  await port?.close();
}
