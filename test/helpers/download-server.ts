import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A node:http server that serves one body for downloads, with the ways real servers answer a range
 * request: honoured (206 with ETag and If-Range), ignored (200), the body changed between requests, a
 * wrong Content-Range, digest headers right or wrong, and a slow body (for kills mid-download).
 */
export interface DownloadServerOptions {
  /** Answer every request with 200 and the whole body (a server without range support). */
  ignoreRanges?: boolean;
  /** Send the body at most this fast (chunks of 16 KiB), so a test can act mid-download. */
  bytesPerSecond?: number;
  /** A 206 whose Content-Range starts this many bytes off from what was asked. */
  contentRangeSkew?: number;
  /** Paths (with query) answered 403, like an expired signed URL. */
  forbiddenPaths?: string[];
  /** Digest headers to send with each answer (e.g. Repr-Digest); `right` computes the real sha-256. */
  digest?: 'right-repr' | 'wrong-repr' | 'right-content-md5' | 'none';
}

export interface ServedRequest {
  method: string;
  url: string;
  range: string | undefined;
  ifRange: string | undefined;
  status: number;
  /** Body bytes written to the socket for this request. */
  bytesSent: number;
}

export interface DownloadServer {
  url: string;
  requests: ServedRequest[];
  /** The body served from now on (a new ETag: If-Range no longer matches). */
  setBody(body: Buffer): void;
  setOptions(options: DownloadServerOptions): void;
  bytesSent(): number;
  close(): Promise<void>;
}

const CHUNK = 16 * 1024;

export async function startDownloadServer(body: Buffer, initial: DownloadServerOptions = {}): Promise<DownloadServer> {
  let current = body;
  let version = 1;
  let options = initial;
  const requests: ServedRequest[] = [];
  const etag = () => `"v${version}-${current.length}"`;

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const served: ServedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      range: req.headers.range,
      ifRange: req.headers['if-range'] as string | undefined,
      status: 200,
      bytesSent: 0,
    };
    requests.push(served);
    req.resume();
    if (options.forbiddenPaths?.includes(served.url)) {
      served.status = 403;
      res.writeHead(403, { 'Content-Type': 'text/plain' }).end('expired');
      return;
    }
    const whole = current;
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(served.range ?? '');
    if (range && !options.ignoreRanges && (served.ifRange === undefined || served.ifRange === etag())) {
      start = Number(range[1]);
    }
    const headers: Record<string, string> = { ETag: etag(), 'Content-Type': 'application/octet-stream' };
    const sha = createHash('sha256').update(whole).digest('base64');
    if (options.digest === 'right-repr') headers['Repr-Digest'] = `sha-256=:${sha}:`;
    if (options.digest === 'wrong-repr')
      headers['Repr-Digest'] = `sha-256=:${createHash('sha256').update('other').digest('base64')}:`;
    if (options.digest === 'right-content-md5' && start === 0) {
      headers['Content-MD5'] = createHash('md5').update(whole).digest('base64');
    }
    const slice = whole.subarray(start);
    if (start > 0) {
      served.status = 206;
      const shown = start + (options.contentRangeSkew ?? 0);
      headers['Content-Range'] = `bytes ${shown}-${shown + slice.length - 1}/${whole.length}`;
    }
    headers['Content-Length'] = String(slice.length);
    res.writeHead(served.status, headers);
    void send(res, slice, served);
  });

  async function send(res: ServerResponse, slice: Buffer, served: ServedRequest): Promise<void> {
    for (let offset = 0; offset < slice.length && !res.destroyed; offset += CHUNK) {
      const chunk = slice.subarray(offset, offset + CHUNK);
      const ok = res.write(chunk);
      served.bytesSent += chunk.length;
      if (options.bytesPerSecond) await sleep((chunk.length / options.bytesPerSecond) * 1000);
      else if (!ok) await new Promise((resolve) => res.once('drain', resolve));
    }
    res.end();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setBody(next) {
      current = next;
      version += 1;
    },
    setOptions(next) {
      options = next;
    },
    bytesSent: () => requests.reduce((sum, request) => sum + request.bytesSent, 0),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
