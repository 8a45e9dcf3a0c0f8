import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { type DigestHeader, digestHeader, type Representation, sendBody, unionLength } from './download-server-body.ts';
import { listenOnLoopback } from './loopback.ts';
import { answerRange, type ByteRange, contentRange, ifRangeAllowsRange, type Validators } from './range-request.ts';

export type { DigestHeader } from './download-server-body.ts';

/**
 * Real node:http servers on loopback for download tests. One server serves any number of paths, each
 * a file on disk or bytes in memory with its own behaviour: honouring `Range` + `If-Range` with a
 * strong ETag and Last-Modified (the default), ignoring ranges, changing its representation between
 * requests, sending a wrong `Content-Range`, sending digests of the body (right or deliberately
 * wrong), a slow body (to act mid-download) or a reset one. Every request is recorded with the body
 * bytes sent, so a test can say how many bytes were fetched twice.
 */

/** What a path serves: a file's path, or the bytes themselves. */
export type Body = string | Buffer;

export interface ServeOptions {
  /** Answer every request with 200 and the whole body, whatever `Range` says; no `Accept-Ranges`. */
  ignoreRanges?: boolean;
  /** `strong` (default) sends `ETag: "…"`; `weak` sends `W/"…"`, which `If-Range` never matches; `none` sends no ETag. */
  etag?: 'strong' | 'weak' | 'none';
  /** Send `Last-Modified` (default true). */
  lastModified?: boolean;
  /** A 206's `Content-Range` claims a first byte this many bytes off the one actually sent. */
  contentRangeShift?: number;
  /** A 206's `Content-Range` claims a total this many bytes off the real size. */
  contentRangeTotalShift?: number;
  /** Digest headers added to 200 and 206 answers. */
  digests?: readonly DigestHeader[];
  /** Send body bytes at most this fast, so a test can act while a download is in flight. */
  throttleBytesPerSecond?: number;
  /** The first `cutTimes` (default 1) answers are reset (RST) once this many body bytes were written. */
  cutAfterBytes?: number;
  cutTimes?: number;
  /** Extra response headers. */
  headers?: ReadonlyArray<[string, string]>;
  /** Answer instead of serving the body when this returns a reply (e.g. 403 for an expired signed URL). */
  intercept?: (
    request: DownloadRecord,
  ) => { status: number; headers?: Array<[string, string]>; body?: string } | undefined;
}

/** One request as the server saw and answered it; the counters update live while the body is sent. */
export interface DownloadRecord {
  method: string;
  /** Path and query as sent. */
  url: string;
  /** The path without the query. */
  path: string;
  /** Header pairs exactly as received. */
  headers: Array<[string, string]>;
  range: string | null;
  ifRange: string | null;
  /** The answer's status; 0 until the headers were sent. */
  status: number;
  /** Which representation answered (1 for the server's first; each new one adds 1); 0 for none. */
  version: number;
  /** The representation offset the body starts at (0 for a 200). */
  start: number;
  /** Body bytes handed to the socket so far (an upper bound of what the client received). */
  bytesSent: number;
  /** Request body bytes read (for downloads that send a body, e.g. POST). */
  requestBodyBytes: number;
  /** The whole body was sent. */
  complete: boolean;
  /** The connection ended before the body did (a client abort or a `cutAfterBytes` reset). */
  aborted: boolean;
}

interface Route {
  options: ServeOptions;
  /** The bodies still to come: each request after the first moves on to the next, the last one stays. */
  queue: Body[];
  current: Representation;
  /** Requests answered from this route so far. */
  served: number;
  /** Answers cut so far. */
  cuts: number;
}

export interface DownloadServer {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:40123`. */
  url: string;
  port: number;
  /** Every request received, in arrival order. */
  requests: DownloadRecord[];
  /**
   * Serves `bodies` under `path` (e.g. `/video.bin`; `*` for every path not served otherwise, query
   * ignored). With several bodies the representation changes between requests: the first request
   * gets bodies[0], the second bodies[1], and the last one stays.
   */
  serve(path: string, bodies: Body | readonly Body[], options?: ServeOptions): Promise<void>;
  /** Replaces the representation served under `path` now: new content, new ETag, a later Last-Modified. */
  replace(path: string, body: Body): Promise<void>;
  /** The options of `path` from its next request on (e.g. `{}` to lift a throttle). */
  setOptions(path: string, options: ServeOptions): void;
  /** The current representation's validators under `path`. */
  validators(path: string): Validators;
  /** Body bytes sent for `path` over all requests (for every path without one). */
  bytesSent(path?: string): number;
  /** Body bytes of `path` sent more than once: all bytes sent minus the distinct offsets they covered. */
  bytesSentTwice(path: string): number;
  close(): Promise<void>;
}

export async function startDownloadServer(): Promise<DownloadServer> {
  const routes = new Map<string, Route>();
  const requests: DownloadRecord[] = [];
  const sockets = new Set<Socket>();
  let versions = 0;

  const represent = async (body: Body, previous: Representation | null, options: ServeOptions) => {
    const { size, mtimeMs } = Buffer.isBuffer(body) ? { size: body.length, mtimeMs: Date.now() } : await stat(body);
    versions += 1;
    // Each change must be visible to a date-based If-Range too: Last-Modified moves on by at least 1 s.
    const floorSeconds = Math.floor(mtimeMs / 1000) * 1000;
    const previousMs = previous?.validators.lastModified ? Date.parse(previous.validators.lastModified) : 0;
    const modifiedMs = Math.max(floorSeconds, previousMs + 1000);
    const tag = `"v${versions}-${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}"`;
    const etagMode = options.etag ?? 'strong';
    const representation: Representation = {
      version: versions,
      source: body,
      size,
      validators: {
        etag: etagMode === 'none' ? null : etagMode === 'weak' ? `W/${tag}` : tag,
        lastModified: options.lastModified === false ? null : new Date(modifiedMs).toUTCString(),
      },
      digests: new Map(),
    };
    return representation;
  };

  const routeOf = (path: string): Route => {
    const route = routes.get(path);
    if (route === undefined) throw new Error(`nothing is served under ${path}`);
    return route;
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(String(error));
      } else {
        res.destroy();
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const headers: Array<[string, string]> = [];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2)
      headers.push([req.rawHeaders[i] ?? '', req.rawHeaders[i + 1] ?? '']);
    const record: DownloadRecord = {
      method: req.method ?? 'GET',
      url,
      path: url.replace(/\?.*$/, ''),
      headers,
      range: req.headers.range ?? null,
      ifRange: typeof req.headers['if-range'] === 'string' ? req.headers['if-range'] : null,
      status: 0,
      version: 0,
      start: 0,
      bytesSent: 0,
      requestBodyBytes: 0,
      complete: false,
      aborted: false,
    };
    requests.push(record);
    res.on('close', () => {
      if (!res.writableFinished) record.aborted = true;
    });
    for await (const chunk of req) record.requestBodyBytes += (chunk as Buffer).length;

    const route = routes.get(record.path) ?? routes.get('*');
    if (route === undefined) {
      record.status = 404;
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`nothing is served under ${record.path}`);
      record.complete = true;
      return;
    }
    const { options } = route;
    const reply = options.intercept?.(record);
    if (reply !== undefined) {
      record.status = reply.status;
      res.writeHead(reply.status, [...(reply.headers ?? []).flat()]);
      res.end(reply.body ?? '');
      record.complete = true;
      return;
    }
    // A request after the first one moves on to the next queued body: the representation changed.
    route.served += 1;
    if (route.served > 1 && route.queue.length > 0) {
      route.current = await represent(route.queue.shift() ?? '', route.current, options);
    }
    const rep = route.current;
    record.version = rep.version;

    const answer =
      options.ignoreRanges === true ||
      !ifRangeAllowsRange(req.headers['if-range'] as string | undefined, rep.validators)
        ? ({ kind: 'none' } as const)
        : answerRange(req.headers.range, rep.size);
    const out: Array<[string, string]> = [['Content-Type', 'application/octet-stream']];
    if (options.ignoreRanges !== true) out.push(['Accept-Ranges', 'bytes']);
    if (rep.validators.etag !== null) out.push(['ETag', rep.validators.etag]);
    if (rep.validators.lastModified !== null) out.push(['Last-Modified', rep.validators.lastModified]);
    out.push(...(options.headers ?? []));

    if (answer.kind === 'unsatisfiable') {
      record.status = 416;
      out.push(['Content-Range', contentRange(null, rep.size)], ['Content-Length', '0']);
      res.writeHead(416, out.flat()).end();
      record.complete = true;
      return;
    }
    const range: ByteRange = answer.kind === 'range' ? answer.range : { first: 0, last: rep.size - 1 };
    const length = range.last - range.first + 1;
    if (answer.kind === 'range') {
      const shift = options.contentRangeShift ?? 0;
      const claimed = { first: range.first + shift, last: range.last + shift };
      out.push(['Content-Range', contentRange(claimed, rep.size + (options.contentRangeTotalShift ?? 0))]);
    }
    out.push(['Content-Length', String(length)]);
    for (const digest of options.digests ?? [])
      out.push(await digestHeader(rep, digest, range, answer.kind === 'range'));

    record.status = answer.kind === 'range' ? 206 : 200;
    record.start = range.first;
    res.writeHead(record.status, out.flat());
    if (record.method === 'HEAD' || length === 0) {
      res.end();
      record.complete = true;
      return;
    }
    const cut =
      options.cutAfterBytes !== undefined && route.cuts < (options.cutTimes ?? 1) ? options.cutAfterBytes : null;
    if (cut !== null) route.cuts += 1;
    await sendBody(res, rep, range, record, options.throttleBytesPerSecond, cut);
  }

  const { port, url } = await listenOnLoopback(server);
  return {
    url,
    port,
    requests,
    async serve(path, bodies, options = {}) {
      const list: Body[] = typeof bodies === 'string' || Buffer.isBuffer(bodies) ? [bodies] : [...bodies];
      const first = list.shift();
      if (first === undefined) throw new Error('serve() needs at least one body');
      const current = await represent(first, null, options);
      routes.set(path, { options, queue: list, current, served: 0, cuts: 0 });
    },
    async replace(path, body) {
      const route = routeOf(path);
      route.current = await represent(body, route.current, route.options);
    },
    setOptions(path, options) {
      routeOf(path).options = options;
    },
    validators: (path) => ({ ...routeOf(path).current.validators }),
    bytesSent: (path) =>
      requests.filter((r) => path === undefined || r.path === path).reduce((sum, r) => sum + r.bytesSent, 0),
    bytesSentTwice: (path) => {
      const spans = requests
        .filter((r) => r.path === path && r.bytesSent > 0)
        .map((r) => [r.start, r.start + r.bytesSent]);
      return spans.reduce((sum, [from = 0, to = 0]) => sum + to - from, 0) - unionLength(spans);
    },
    close: () =>
      new Promise<void>((done) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => done());
      }),
  };
}

/** An `intercept` that answers 403 to these exact URLs (path and query), like expired signed URLs. */
export function forbidUrls(...urls: string[]): NonNullable<ServeOptions['intercept']> {
  return (request) =>
    urls.includes(request.url)
      ? { status: 403, headers: [['Content-Type', 'text/plain']], body: 'expired' }
      : undefined;
}
