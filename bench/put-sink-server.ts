import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from '../test/helpers/loopback.ts';

/**
 * The PUT target of the throughput benchmark: a loopback node:http server that reads each request body,
 * counts it and hashes it, so a run counts only if every byte arrived intact. It also times each body
 * from the request's headers to its last byte: one clock for both clients, which leaves process
 * start-up out of the comparison.
 */

export interface SinkRequest {
  method: string;
  path: string;
  bytes: number;
  sha256: string;
  /** From the request's headers being parsed to the body's last byte. */
  bodySeconds: number;
}

export interface PutSink {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /**
   * Resolves with the next request that finishes after this call; with `method`, the next one with that
   * method (bgtransfer's default resumeProtocol 'auto' sends an OPTIONS probe before the PUT).
   */
  nextRequest(method?: string): Promise<SinkRequest>;
  close(): Promise<void>;
}

export async function startPutSink(): Promise<PutSink> {
  let waiters: Array<{ method: string | undefined; resolve: (request: SinkRequest) => void }> = [];
  const server = createServer((req, res) => {
    void receive(req, res).then((request) => {
      const matching = waiters.filter((waiter) => waiter.method === undefined || waiter.method === request.method);
      waiters = waiters.filter((waiter) => !matching.includes(waiter));
      for (const waiter of matching) waiter.resolve(request);
    });
  });
  const { url } = await listenOnLoopback(server);
  return {
    url,
    nextRequest: (method) => new Promise((resolve) => waiters.push({ method, resolve })),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

async function receive(req: IncomingMessage, res: ServerResponse): Promise<SinkRequest> {
  const started = process.hrtime.bigint();
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      hash.update(chunk);
    }
  } catch {
    // A client that disconnects mid-body still produces a record; its byte count shows the failure.
  }
  const bodySeconds = Number(process.hrtime.bigint() - started) / 1e9;
  res.writeHead(req.method === 'PUT' ? 201 : 200, { 'content-length': '0' });
  res.end();
  return { method: req.method ?? '', path: req.url ?? '', bytes, sha256: hash.digest('hex'), bodySeconds };
}
