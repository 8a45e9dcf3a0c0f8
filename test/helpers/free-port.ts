import { createServer } from 'node:net';
import { listenOnLoopback } from './loopback.ts';

/**
 * A loopback TCP port that was free a moment ago: the kernel picks it for a listener on port 0, which
 * we then close. Another process may take it before the caller binds it, so callers that start an
 * external server retry with a new port when the bind fails.
 */
export async function findFreePort(): Promise<number> {
  const server = createServer();
  server.unref();
  const { port } = await listenOnLoopback(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
