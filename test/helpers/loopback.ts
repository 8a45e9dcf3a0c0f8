import type { Server } from 'node:net';

/** Where a test server listens: its port, and the origin a client reaches it at. */
export interface LoopbackAddress {
  port: number;
  /** `http://127.0.0.1:PORT` (`https://` when asked for): no trailing slash, so callers append paths. */
  url: string;
}

/**
 * Listens on 127.0.0.1 at a port the kernel picks and resolves once the server accepts connections.
 * Tests bind to the loopback address only, never to every interface: a server on a shared machine
 * must not be reachable from elsewhere, and a fixed port would collide with other engineers' runs.
 * A failed bind rejects instead of leaving the test waiting for a callback that never comes.
 */
export function listenOnLoopback(server: Server, scheme: 'http' | 'https' = 'http'): Promise<LoopbackAddress> {
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => reject(error);
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', fail);
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('the server has no TCP address after listening'));
        return;
      }
      resolve({ port: address.port, url: `${scheme}://127.0.0.1:${address.port}` });
    });
  });
}
