import { TransferError } from '../core/errors.ts';
import { resolveAppId, resolveHome } from '../core/paths.ts';
import { InprocPort } from '../ipc/inproc-port.ts';
import { SocketPort } from '../ipc/socket-port.ts';
import type { TransferPort } from '../ipc/transfer-port.ts';

/**
 * Which engine this process talks to (docs/architecture.md): BGTRANSFER_HOST=inproc runs it here;
 * `auto` (the default) talks to the per-user transfer host. One port per process, opened lazily on
 * the first call that needs it.
 */
let current: { home: string; port: Promise<TransferPort> } | undefined;

export function getPort(env: NodeJS.ProcessEnv = process.env): Promise<TransferPort> {
  const home = resolveHome(env);
  if (current && current.home === home) return current.port;
  const mode = env.BGTRANSFER_HOST ?? 'auto';
  let port: Promise<TransferPort>;
  if (mode === 'inproc') {
    port = Promise.resolve().then(() => InprocPort.open(home));
  } else if (mode === 'auto') {
    port = Promise.resolve(new SocketPort(home, { env }));
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
