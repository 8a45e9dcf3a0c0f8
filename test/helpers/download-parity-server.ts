import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { listenOnLoopback } from './loopback.ts';
import type { KeyPair } from './tls-certs.ts';

/**
 * A small node:http(s) server for the download parity tests: one body with a strong ETag, `Range:
 * bytes=N-` honoured with a 206, optionally over TLS, and optionally stalling: the first answer sends
 * `stallAfterBytes` body bytes and then nothing more while keeping the connection open, the way a hung
 * server or a dead middlebox looks to a client. download-server.ts cuts connections but never stalls.
 */
export interface ParityServerOptions {
  tls?: KeyPair;
  stallAfterBytes?: number;
}

export interface ParityRequest {
  url: string;
  range: string | undefined;
  ifRange: string | undefined;
  status: number;
  bytesSent: number;
}

export interface ParityServer {
  url: string;
  requests: ParityRequest[];
  close(): Promise<void>;
}

export async function startParityServer(body: Buffer, options: ParityServerOptions = {}): Promise<ParityServer> {
  const requests: ParityRequest[] = [];
  const sockets = new Set<Socket>();
  const etag = `"parity-${body.length}"`;
  let stalled = false;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const record: ParityRequest = {
      url: req.url ?? '',
      range: req.headers.range,
      ifRange: req.headers['if-range'] as string | undefined,
      status: 200,
      bytesSent: 0,
    };
    requests.push(record);
    req.resume();
    const match = /^bytes=(\d+)-$/.exec(record.range ?? '');
    const start = match && (record.ifRange === undefined || record.ifRange === etag) ? Number(match[1]) : 0;
    const headers: Record<string, string> = { ETag: etag, 'Accept-Ranges': 'bytes' };
    headers['Content-Length'] = String(body.length - start);
    if (start > 0) {
      record.status = 206;
      headers['Content-Range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    }
    res.writeHead(record.status, headers);
    const rest = body.subarray(start);
    if (options.stallAfterBytes !== undefined && !stalled) {
      stalled = true;
      const part = rest.subarray(0, options.stallAfterBytes);
      record.bytesSent = part.length;
      res.write(part);
      return; // and never another byte: the client must notice on its own
    }
    record.bytesSent = rest.length;
    res.end(rest);
  };
  const server: Server = options.tls
    ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handler)
    : createHttpServer(handler);
  server.on(options.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const { url } = await listenOnLoopback(server, options.tls ? 'https' : 'http');
  return {
    url,
    requests,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
