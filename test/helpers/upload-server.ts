import { createHash } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { listenOnLoopback } from './loopback.ts';

/** One request as the server saw it; body fields update live while the body streams in. */
export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  /** Header pairs exactly as received: name case and order kept. */
  headers: Array<[string, string]>;
  /** Node's `rawHeaders`: name, value, name, value, … */
  rawHeaders: string[];
  /** Body bytes read so far. */
  bodyBytes: number;
  /** Hex sha256 of the body; set when the body ended normally. */
  sha256: string | null;
  /** The body ended normally (all Content-Length bytes arrived). */
  complete: boolean;
  /** The connection closed before the body ended. */
  aborted: boolean;
}

/** What a route answers. Every variant may wait `delayMs` first. */
export type RouteReply =
  | {
      status: number;
      headers?: Array<[string, string]>;
      body?: string | Uint8Array;
      delayMs?: number;
      /** 1xx status codes sent (as bare status lines) before the final response, e.g. [104]. */
      informational?: number[];
    }
  /** A redirect: `Location: redirect`, default status 307, empty body. */
  | { redirect: string; status?: number; delayMs?: number }
  /** Ends the connection without a response: 'close' = FIN, 'reset' = RST. */
  | { destroy: 'close' | 'reset'; delayMs?: number }
  /** Never answers (the connection stays open until the client gives up or the server closes). */
  | { hang: true };

/** Called with the recorded request once its body has been read (unless `answerBeforeBody`). */
export type RouteHandler = (request: RecordedRequest) => RouteReply | Promise<RouteReply>;

export interface RouteOptions {
  /** Reset (RST) the connection once this many body bytes arrived; the handler is then not called. */
  resetAfterBytes?: number;
  /** Call the handler as soon as the headers arrive; the body is still read (and recorded) meanwhile. */
  answerBeforeBody?: boolean;
  /** Overrides the server's `throttleBytesPerSecond` for this route. */
  throttleBytesPerSecond?: number;
}

export interface UploadServerOptions {
  /** Serve HTTPS with this key pair (see tls-certs.ts). */
  tls?: { key: string; cert: string };
  /** Read request bodies at most this fast, so a test can act while an upload is in flight. */
  throttleBytesPerSecond?: number;
}

export interface UploadServer {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:40123`. */
  url: string;
  port: number;
  /** Every request received, in arrival order. */
  requests: RecordedRequest[];
  /** Answers requests whose path (without query) equals `path`; replaces an earlier route. */
  route(path: string, handler: RouteHandler, options?: RouteOptions): void;
  /** Resolves with the first recorded request that satisfies `predicate` (polled every 5 ms). */
  waitForRequest(predicate: (request: RecordedRequest) => boolean, timeoutMs?: number): Promise<RecordedRequest>;
  /** Closes the listener and every open connection (including hanging ones). */
  close(): Promise<void>;
}

interface Route {
  handler: RouteHandler;
  options: RouteOptions;
}

/** The default answer: 201 with `{"sha256": "…", "bytes": N}` and a Content-Length. */
export const hashReply: RouteHandler = (request) => ({
  status: 201,
  headers: [['Content-Type', 'application/json']],
  body: JSON.stringify({ sha256: request.sha256, bytes: request.bodyBytes }),
});

/**
 * A loopback upload target for tests: it hashes every request body while streaming it (never
 * buffering), records what arrived, and answers through scriptable routes.
 */
export async function startUploadServer(options: UploadServerOptions = {}): Promise<UploadServer> {
  const routes = new Map<string, Route>();
  const requests: RecordedRequest[] = [];
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const route = routes.get(new URL(req.url ?? '/', 'http://x').pathname) ?? { handler: hashReply, options: {} };
    void handleRequest(req, res, route, requests, options);
  };
  const server: Server = options.tls
    ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, onRequest)
    : createHttpServer(onRequest);
  // A client that hangs up mid-request must not crash the test process.
  server.on('clientError', (_error, socket) => socket.destroy());
  server.on('tlsClientError', () => {});
  const { port, url } = await listenOnLoopback(server, options.tls ? 'https' : 'http');

  return {
    url,
    port,
    requests,
    route(path, handler, routeOptions = {}) {
      routes.set(path, { handler, options: routeOptions });
    },
    async waitForRequest(predicate, timeoutMs = 5_000) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const found = requests.find(predicate);
        if (found !== undefined) return found;
        if (performance.now() > deadline) throw new Error(`no matching request within ${timeoutMs} ms`);
        await sleep(5);
      }
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function handleRequest(
  req: IncomingMessage,
  res: ServerResponse,
  route: Route,
  requests: RecordedRequest[],
  serverOptions: UploadServerOptions,
): Promise<void> {
  req.on('error', () => {});
  res.on('error', () => {});
  const headers: Array<[string, string]> = [];
  for (let index = 0; index + 1 < req.rawHeaders.length; index += 2) {
    headers.push([req.rawHeaders[index]!, req.rawHeaders[index + 1]!]);
  }
  const record: RecordedRequest = {
    method: req.method ?? '',
    url: req.url ?? '',
    headers,
    rawHeaders: [...req.rawHeaders],
    bodyBytes: 0,
    sha256: null,
    complete: false,
    aborted: false,
  };
  requests.push(record);
  const rate = route.options.throttleBytesPerSecond ?? serverOptions.throttleBytesPerSecond;
  const body = readBody(req, record, rate, route.options.resetAfterBytes);
  if (!route.options.answerBeforeBody && !(await body)) return;
  const reply = await route.handler(record);
  await sendReply(req, res, reply);
}

/** Hashes and counts the body as it streams in; resolves true if it ended normally. */
function readBody(
  req: IncomingMessage,
  record: RecordedRequest,
  bytesPerSecond: number | undefined,
  resetAfterBytes: number | undefined,
): Promise<boolean> {
  const hash = createHash('sha256');
  const startedAt = performance.now();
  return new Promise<boolean>((resolve) => {
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      record.bodyBytes += chunk.length;
      if (resetAfterBytes !== undefined && record.bodyBytes >= resetAfterBytes) {
        req.socket.resetAndDestroy();
        return;
      }
      if (bytesPerSecond !== undefined) {
        // Pausing stops reading the socket, so TCP flow control slows the client down to this rate.
        const aheadMs = (record.bodyBytes / bytesPerSecond) * 1000 - (performance.now() - startedAt);
        if (aheadMs >= 1) {
          req.pause();
          setTimeout(() => req.resume(), aheadMs);
        }
      }
    });
    req.on('end', () => {
      record.sha256 = hash.digest('hex');
      record.complete = true;
      resolve(true);
    });
    req.on('close', () => {
      if (record.complete) return;
      record.aborted = true;
      resolve(false);
    });
  });
}

async function sendReply(req: IncomingMessage, res: ServerResponse, reply: RouteReply): Promise<void> {
  if ('hang' in reply) return;
  if (reply.delayMs !== undefined) await sleep(reply.delayMs);
  if (req.socket.destroyed) return;
  if ('destroy' in reply) {
    if (reply.destroy === 'reset') req.socket.resetAndDestroy();
    else req.socket.destroy();
    return;
  }
  if ('redirect' in reply) {
    res.writeHead(reply.status ?? 307, ['Location', reply.redirect, 'Content-Length', '0']);
    res.end();
    return;
  }
  // Node has no API for an arbitrary 1xx; a raw status line on the socket works.
  for (const status of reply.informational ?? []) {
    req.socket.write(`HTTP/1.1 ${status} Informational\r\n\r\n`);
  }
  const body = reply.body === undefined ? Buffer.alloc(0) : Buffer.from(reply.body);
  const headers = reply.headers ?? [];
  const flat: string[] = headers.flat();
  if (!headers.some(([name]) => name.toLowerCase() === 'content-length')) {
    flat.push('Content-Length', String(body.length));
  }
  res.writeHead(reply.status, flat);
  res.end(body);
}
