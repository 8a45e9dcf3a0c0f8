import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { answerRange, type ByteRange, contentRange, ifRangeAllowsRange, type Validators } from './range-request.ts';

/**
 * Real node:http servers on loopback for download tests. One server serves any number of paths, each
 * a file on disk with its own behaviour: honouring `Range` + `If-Range` with a strong ETag and
 * Last-Modified (the default), ignoring ranges, changing its representation between requests, sending
 * a wrong `Content-Range`, or sending digests of the body (right or deliberately wrong). Every request
 * is recorded with the body bytes sent, so a test can say how many bytes were fetched twice.
 */

/** A digest header the server sends, computed from the bytes it serves (RFC 9530, RFC 1864). */
export type DigestHeader =
  /** `Repr-Digest` covers the whole representation; `Content-Digest` the bytes of this answer (a 206's part). */
  | { header: 'Repr-Digest' | 'Content-Digest'; algorithm: 'sha-256' | 'sha-512'; wrong?: boolean }
  /** `Content-MD5`: base64 MD5 of this answer's body. */
  | { header: 'Content-MD5'; wrong?: boolean };

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
  /** Answer instead of serving the file when this returns a reply (e.g. 403 for an expired signed URL). */
  intercept?: (
    request: DownloadRecord,
  ) => { status: number; headers?: Array<[string, string]>; body?: string } | undefined;
}

/** One request as the server saw and answered it; the counters update live while the body is sent. */
export interface DownloadRecord {
  method: string;
  /** Path and query as sent. */
  url: string;
  /** The path without the query: the key the file was served under. */
  path: string;
  /** Header pairs exactly as received. */
  headers: Array<[string, string]>;
  range: string | null;
  ifRange: string | null;
  /** The answer's status; 0 until the headers were sent. */
  status: number;
  /** Which representation of the path answered (1 for the first file; each change adds 1); 0 for none. */
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

interface Representation {
  version: number;
  path: string;
  size: number;
  validators: Validators;
  /** Whole-representation digests, computed once when first asked for. */
  digests: Map<string, Promise<Buffer>>;
}

interface Route {
  options: ServeOptions;
  /** The files still to come: each request after the first moves on to the next, the last one stays. */
  queue: string[];
  current: Representation;
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
   * Serves `files` under `path` (e.g. `/video.bin`). With several files the representation changes
   * between requests: the first request gets files[0], the second files[1], and the last file stays.
   */
  serve(path: string, files: string | readonly string[], options?: ServeOptions): Promise<void>;
  /** Replaces the representation served under `path` now: new content, new ETag, a later Last-Modified. */
  replace(path: string, file: string): Promise<void>;
  /** The current representation's validators under `path`. */
  validators(path: string): Validators;
  /** Body bytes sent for `path` over all requests. */
  bytesSent(path: string): number;
  /** Body bytes of `path` sent more than once: all bytes sent minus the distinct offsets they covered. */
  bytesSentTwice(path: string): number;
  close(): Promise<void>;
}

const CHUNK_BYTES = 256 * 1024;

export async function startDownloadServer(): Promise<DownloadServer> {
  const routes = new Map<string, Route>();
  const requests: DownloadRecord[] = [];
  const sockets = new Set<Socket>();
  let versions = 0;

  const represent = async (file: string, previous: Representation | null, options: ServeOptions) => {
    const info = await stat(file);
    versions += 1;
    // Each change must be visible to a date-based If-Range too: Last-Modified moves on by at least 1 s.
    const floorSeconds = Math.floor(info.mtimeMs / 1000) * 1000;
    const previousMs = previous?.validators.lastModified ? Date.parse(previous.validators.lastModified) : 0;
    const modifiedMs = Math.max(floorSeconds, previousMs + 1000);
    const tag = `"v${versions}-${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
    const etagMode = options.etag ?? 'strong';
    const representation: Representation = {
      version: versions,
      path: file,
      size: info.size,
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

    const route = routes.get(record.path);
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
    // A request after the first one moves on to the next queued file: the representation changed.
    if (requests.filter((r) => r.path === record.path).length > 1 && route.queue.length > 0) {
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
    await sendBody(res, rep.path, range, record, options.throttleBytesPerSecond, cut);
  }

  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        requests,
        async serve(path, files, options = {}) {
          const list = typeof files === 'string' ? [files] : [...files];
          const first = list.shift();
          if (first === undefined) throw new Error('serve() needs at least one file');
          routes.set(path, { options, queue: list, current: await represent(first, null, options), cuts: 0 });
        },
        async replace(path, file) {
          const route = routeOf(path);
          route.current = await represent(file, route.current, route.options);
        },
        validators: (path) => ({ ...routeOf(path).current.validators }),
        bytesSent: (path) => requests.filter((r) => r.path === path).reduce((sum, r) => sum + r.bytesSent, 0),
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
      });
    });
  });
}

/** Writes `range` of `file`, honouring back-pressure, the throttle and a planned reset. */
async function sendBody(
  res: ServerResponse,
  file: string,
  range: ByteRange,
  record: DownloadRecord,
  throttleBytesPerSecond: number | undefined,
  cutAfterBytes: number | null,
): Promise<void> {
  const handle: FileHandle = await open(file, 'r');
  const started = Date.now();
  try {
    let offset = range.first;
    while (offset <= range.last) {
      if (res.destroyed) return;
      let want = Math.min(CHUNK_BYTES, range.last - offset + 1);
      if (cutAfterBytes !== null) want = Math.min(want, cutAfterBytes - record.bytesSent);
      if (want <= 0) {
        // Let what was written reach the client before the RST discards anything still queued.
        await new Promise<void>((done) => res.write('', () => done()));
        res.socket?.resetAndDestroy();
        return;
      }
      const { bytesRead, buffer } = await handle.read(Buffer.allocUnsafe(want), 0, want, offset);
      if (bytesRead === 0) throw new Error(`${file} is shorter than it was when served`);
      const flushed = res.write(buffer.subarray(0, bytesRead));
      record.bytesSent += bytesRead;
      offset += bytesRead;
      if (!flushed) await waitForDrain(res);
      if (throttleBytesPerSecond !== undefined) {
        const due = started + (record.bytesSent / throttleBytesPerSecond) * 1000;
        if (due > Date.now()) await sleep(due - Date.now());
      }
    }
    await new Promise<void>((done) => res.end(() => done()));
    record.complete = true;
  } finally {
    await handle.close();
  }
}

function waitForDrain(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

async function digestHeader(rep: Representation, digest: DigestHeader, range: ByteRange, partial: boolean) {
  const wholeBody = !partial || (range.first === 0 && range.last === rep.size - 1);
  let name: string;
  let value: Buffer;
  if (digest.header === 'Content-MD5') {
    name = 'Content-MD5';
    value = await hashFile(rep.path, 'md5', range);
  } else {
    name = digest.header;
    const algorithm = digest.algorithm === 'sha-256' ? 'sha256' : 'sha512';
    const whole = digest.header === 'Repr-Digest' || wholeBody;
    value = whole ? await wholeDigest(rep, algorithm) : await hashFile(rep.path, algorithm, range);
  }
  if (digest.wrong === true) {
    value = Buffer.from(value);
    value[0] = (value[0] ?? 0) ^ 0xff;
  }
  const text =
    digest.header === 'Content-MD5' ? value.toString('base64') : `${digest.algorithm}=:${value.toString('base64')}:`;
  return [name, text] as [string, string];
}

function wholeDigest(rep: Representation, algorithm: string): Promise<Buffer> {
  let digest = rep.digests.get(algorithm);
  if (digest === undefined) {
    digest = hashFile(rep.path, algorithm, { first: 0, last: rep.size - 1 });
    rep.digests.set(algorithm, digest);
  }
  return digest;
}

async function hashFile(file: string, algorithm: string, range: ByteRange): Promise<Buffer> {
  const hash = createHash(algorithm);
  if (range.last < range.first) return hash.digest();
  for await (const chunk of createReadStream(file, { start: range.first, end: range.last }))
    hash.update(chunk as Buffer);
  return hash.digest();
}

/** The number of distinct offsets covered by half-open spans [from, to). */
function unionLength(spans: ReadonlyArray<ReadonlyArray<number>>): number {
  const sorted = spans.map(([from = 0, to = 0]) => [from, to] as const).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let reach = Number.NEGATIVE_INFINITY;
  for (const [from, to] of sorted) {
    const start = Math.max(from, reach);
    if (to > start) total += to - start;
    reach = Math.max(reach, to);
  }
  return total;
}
