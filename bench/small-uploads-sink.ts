import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from '../test/helpers/loopback.ts';

/**
 * The loopback target of bench/host-small-uploads.ts, run as its own process so that neither the
 * client under test nor the transfer host shares an event loop with it (the same for every side).
 *
 *   node --conditions=source --import tsx bench/small-uploads-sink.ts
 *
 * A plain node:http server: PUT → 201, anything else (the "auto" OPTIONS probe) → 200 without
 * Tus-Version, i.e. a server that is neither tus nor IETF-resumable. Every body is read to the end and
 * counted. `GET /__stats` returns the counters as JSON, `POST /__reset` zeroes them. Prints one line
 * `{"type":"listening","url":"http://127.0.0.1:<port>"}` and runs until SIGTERM.
 */

export interface SinkStats {
  /** Requests by method (PUT, OPTIONS, …), control requests excluded. */
  byMethod: Record<string, number>;
  /** Body bytes of PUT requests. */
  putBodyBytes: number;
  /** PUTs whose body length was not the expected size (`?expect=` query of the reset; 0 = not checked). */
  putWrongSize: number;
  /** Distinct TCP connections that sent at least one counted request. */
  connections: number;
}

let expectedSize = 0;
let stats = emptyStats();
const seenSockets = new WeakSet<object>();

function emptyStats(): SinkStats {
  return { byMethod: {}, putBodyBytes: 0, putWrongSize: 0, connections: 0 };
}

const server = createServer((req, res) => {
  void handle(req, res);
});
server.keepAliveTimeout = 10_000;

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  if (url === '/__stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(stats));
    return;
  }
  if (url.startsWith('/__reset')) {
    expectedSize = Number(new URL(url, 'http://sink').searchParams.get('expect') ?? 0);
    stats = emptyStats();
    res.writeHead(204);
    res.end();
    return;
  }
  let bytes = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) bytes += chunk.length;
  } catch {
    // A client that went away mid-body: the request is counted with what arrived.
  }
  const method = req.method ?? '?';
  stats.byMethod[method] = (stats.byMethod[method] ?? 0) + 1;
  if (!seenSockets.has(req.socket)) {
    seenSockets.add(req.socket);
    stats.connections += 1;
  }
  if (method === 'PUT') {
    stats.putBodyBytes += bytes;
    if (expectedSize > 0 && bytes !== expectedSize) stats.putWrongSize += 1;
    res.writeHead(201, { 'content-length': '0' });
  } else {
    res.writeHead(200, { 'content-length': '0' });
  }
  res.end();
}

const { url } = await listenOnLoopback(server);
process.stdout.write(`${JSON.stringify({ type: 'listening', url })}\n`);
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
