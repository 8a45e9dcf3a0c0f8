import { once } from 'node:events';
import { open } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { crc32 } from 'node:zlib';
import { listenOnLoopback } from '../test/helpers/loopback.ts';

/**
 * The PUT target of the upload benchmarks: a loopback node:http server that reads each request body,
 * counts it and takes its CRC-32, so a run counts only if every byte arrived intact. It also times each
 * body from the request's headers to its last byte: one clock for both clients, which leaves process
 * start-up out of the comparison.
 *
 * CRC-32 (zlib's, in C) rather than sha-256: the sink runs on the same two cores as the client it
 * measures, and a sha-256 of every body (0.67–0.69 CPU s per GiB here, against 0.20–0.21 for CRC-32)
 * made it the slowest side of a `curl -T` run: curl's wall time was the sink's. CRC-32 with the byte
 * count still catches a lost, repeated, reordered or altered piece (only a deliberate forgery passes);
 * the byte-exactness of uploads is proven with sha-256 by the integration tests, this only keeps a
 * broken run out of a table. Receiving through node:http remains most of the sink's CPU (it reports
 * its own, `sinkCpuSeconds`), which is still about curl's whole upload.
 */

export interface SinkRequest {
  method: string;
  path: string;
  bytes: number;
  /** CRC-32 (zlib's) of the body, as `fileCrc32` computes it for the file sent. */
  crc32: number;
  /** From the request's headers being parsed to the body's last byte. */
  bodySeconds: number;
  /**
   * CPU seconds of the sink's process over the same span: receiving and checking the body (the
   * benchmark's own process is otherwise waiting for its child then).
   */
  sinkCpuSeconds: number;
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

/** The CRC-32 a sink reports for an intact body made of this file. */
export async function fileCrc32(path: string): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(4 * 1024 * 1024);
    let crc = 0;
    for (let position = 0; ; ) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) return crc;
      crc = crc32(buffer.subarray(0, bytesRead), crc);
      position += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

function receive(req: IncomingMessage, res: ServerResponse): Promise<SinkRequest> {
  const started = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  let crc = 0;
  let bytes = 0;
  // 'data' events rather than an async iterator: no promise per 64 KiB chunk on the sink's thread.
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    crc = crc32(chunk, crc);
  });
  return new Promise((resolve) => {
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      const bodySeconds = Number(process.hrtime.bigint() - started) / 1e9;
      const cpu = process.cpuUsage(cpuBefore);
      const sinkCpuSeconds = (cpu.user + cpu.system) / 1e6;
      res.writeHead(req.method === 'PUT' ? 201 : 200, { 'content-length': '0' });
      res.end();
      resolve({ method: req.method ?? '', path: req.url ?? '', bytes, crc32: crc, bodySeconds, sinkCpuSeconds });
    };
    req.once('end', finish);
    // A client that disconnects mid-body still produces a record; its byte count shows the failure.
    req.once('error', finish);
  });
}
