import { createServer } from 'node:net';

/**
 * A loopback TCP port that was free a moment ago: the kernel picks it for a listener on port 0, which
 * we then close. Another process may take it before the caller binds it, so callers that start an
 * external server retry with a new port when the bind fails.
 */
export function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('listener has no TCP address'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}
