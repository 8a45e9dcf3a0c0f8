import {
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { listenOnLoopback } from './loopback.ts';

/** One request the proxy handled, updated live. */
export interface ProxyRecord {
  /** `forward`: an absolute-form request (plain http); `connect`: a CONNECT tunnel. */
  kind: 'forward' | 'connect';
  method: string;
  /** The request-target: `http://host:port/path` or `host:port`. */
  target: string;
  /** A `Proxy-Authorization` came along. */
  authPresent: boolean;
  /** It matched the required credential (true when none is required). */
  authorized: boolean;
  /** Status the proxy answered (forward: the origin's; connect: 200 or its refusal). */
  status: number;
  /** forward: request-body bytes relayed; connect: client → origin bytes. */
  bytesUp: number;
  /** forward: response-body bytes; connect: origin → client bytes. */
  bytesDown: number;
  /** Headers of an absolute-form request as received (name case kept). */
  headers: Array<[string, string]>;
}

export interface HttpProxyOptions {
  /** Require `Proxy-Authorization: Basic` with these (407 otherwise). */
  credential?: { userName: string; password: string };
  /** Serve the proxy itself over TLS (an https proxy). */
  tls?: { key: string; cert: string };
}

export interface HttpProxy {
  /** e.g. `http://127.0.0.1:40123` */
  url: string;
  port: number;
  requests: ProxyRecord[];
  close(): Promise<void>;
}

/** Hop-by-hop and proxy-only fields are not forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(['proxy-authorization', 'proxy-connection', 'connection', 'keep-alive', 'te', 'upgrade']);

/**
 * A small forward proxy on 127.0.0.1 for tests: absolute-form requests are forwarded to their
 * origin with the body streamed both ways; CONNECT opens a TCP tunnel. With `credential`, anything
 * without the matching `Proxy-Authorization: Basic` gets 407 + `Proxy-Authenticate`.
 */
export async function startHttpProxy(options: HttpProxyOptions = {}): Promise<HttpProxy> {
  const requests: ProxyRecord[] = [];
  const sockets = new Set<Duplex>();
  const expected =
    options.credential === undefined
      ? null
      : `Basic ${Buffer.from(`${options.credential.userName}:${options.credential.password}`).toString('base64')}`;
  const check = (req: IncomingMessage): { authPresent: boolean; authorized: boolean } => {
    const value = req.headers['proxy-authorization'];
    return { authPresent: value !== undefined, authorized: expected === null || value === expected };
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    req.on('error', () => {});
    res.on('error', () => {});
    const headers: Array<[string, string]> = [];
    for (let index = 0; index + 1 < req.rawHeaders.length; index += 2) {
      headers.push([req.rawHeaders[index]!, req.rawHeaders[index + 1]!]);
    }
    const record: ProxyRecord = {
      kind: 'forward',
      method: req.method ?? '',
      target: req.url ?? '',
      ...check(req),
      status: 0,
      bytesUp: 0,
      bytesDown: 0,
      headers,
    };
    requests.push(record);
    if (!record.authorized) {
      record.status = 407;
      req.resume();
      res.writeHead(407, { 'Proxy-Authenticate': 'Basic realm="test proxy"', 'Content-Length': '0' });
      res.end();
      return;
    }
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      record.status = 400;
      res.writeHead(400, { 'Content-Length': '0' }).end();
      return;
    }
    const forwarded: OutgoingHttpHeaders = {};
    for (const [name, value] of headers) {
      if (!HOP_BY_HOP.has(name.toLowerCase())) forwarded[name] = value;
    }
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port || 80,
        method: req.method,
        path: `${target.pathname}${target.search}`,
        headers: forwarded,
      },
      (answer) => {
        record.status = answer.statusCode ?? 0;
        const back: string[] = [];
        for (let index = 0; index + 1 < answer.rawHeaders.length; index += 2) {
          const name = answer.rawHeaders[index]!;
          if (!HOP_BY_HOP.has(name.toLowerCase())) back.push(name, answer.rawHeaders[index + 1]!);
        }
        res.writeHead(record.status, back);
        answer.on('data', (chunk: Buffer) => {
          record.bytesDown += chunk.length;
        });
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.on('data', (chunk: Buffer) => {
      record.bytesUp += chunk.length;
    });
    req.pipe(upstream);
  };

  const server: Server = options.tls ? createHttpsServer(options.tls, onRequest) : createHttpServer(onRequest);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  server.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) => {
    client.on('error', () => {});
    const record: ProxyRecord = {
      kind: 'connect',
      method: 'CONNECT',
      target: req.url ?? '',
      ...check(req),
      status: 0,
      bytesUp: head.length,
      bytesDown: 0,
      headers: [],
    };
    requests.push(record);
    if (!record.authorized) {
      record.status = 407;
      client.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test proxy"\r\n' +
          'Content-Length: 0\r\n\r\n',
      );
      return;
    }
    const [host = '', port = '443'] = (req.url ?? '').split(/:(?=\d+$)/);
    const origin = connect(Number(port), host.replace(/^\[|\]$/g, ''));
    sockets.add(origin);
    origin.on('close', () => sockets.delete(origin));
    origin.on('error', () => client.destroy());
    client.on('close', () => origin.destroy());
    origin.on('connect', () => {
      record.status = 200;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) origin.write(head);
      client.on('data', (chunk: Buffer) => {
        record.bytesUp += chunk.length;
      });
      origin.on('data', (chunk: Buffer) => {
        record.bytesDown += chunk.length;
      });
      client.pipe(origin);
      origin.pipe(client);
    });
  });
  const { port, url } = await listenOnLoopback(server, options.tls ? 'https' : 'http');
  return {
    url,
    port,
    requests,
    close() {
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
