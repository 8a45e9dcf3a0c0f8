import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pipeline, type Readable, Transform } from 'node:stream';
import { FileStore } from '@tus/file-store';
import { Server as TusServer } from '@tus/server';
import { listenOnLoopback } from './loopback.ts';
import { makeTempDir } from './temp-dir.ts';

/** One request as it reached the tus server (before @tus/server handled it). */
export interface TusRequestRecord {
  method: string;
  url: string;
  headers: Array<[string, string]>;
}

export interface TusTestServer {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:40123`. */
  url: string;
  port: number;
  /** The creation endpoint: `${url}/files/`. */
  endpoint: string;
  /** Where @tus/file-store keeps uploads (`<id>` data and `<id>.json` info). */
  directory: string;
  /** Every request, in arrival order. */
  requests: TusRequestRecord[];
  /** The upload id of an upload URL (its last path segment). */
  uploadId(uploadUrl: string): string;
  /**
   * The upload id behind an upload's final response: its `Location` when the creation answered it
   * (creation-with-upload took the whole body), else the URL the answer came from (the last PATCH).
   */
  uploadIdOfResponse(info: { actualUri: { absoluteUri: string }; headers: Iterable<[string, string]> }): string;
  /** PATCH body bytes that reached the store for this upload, over all requests (re-sent bytes count twice). */
  receivedBytes(uploadId: string): number;
  /** Hex sha256 of the upload's stored data. */
  sha256(uploadId: string): Promise<string>;
  /** Whether the store still has the upload's data file. */
  exists(uploadId: string): boolean;
  /** Closes the listener and every open connection, then removes the store directory. */
  close(): Promise<void>;
}

/** A FileStore that counts the bytes each upload receives (to measure what a resume re-sends). */
class CountingFileStore extends FileStore {
  readonly received = new Map<string, number>();

  override write(readable: IncomingMessage | Readable, fileId: string, offset: number): Promise<number> {
    const received = this.received;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        received.set(fileId, (received.get(fileId) ?? 0) + chunk.byteLength);
        callback(null, chunk);
      },
    });
    // pipeline (not pipe) so that a request cut mid-body errors the store's own pipeline too.
    pipeline(readable, counter, () => {});
    return super.write(counter, fileId, offset);
  }
}

/** @tus/server over a counting @tus/file-store, without a listener: for a test's own server to hand requests to. */
export interface TusApp {
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** PATCH body bytes that reached the store for this upload, over all requests (re-sent bytes count twice). */
  receivedBytes(uploadId: string): number;
  /** Hex sha256 of the upload's stored data. */
  sha256(uploadId: string): Promise<string>;
  /** Whether the store still has the upload's data file. */
  exists(uploadId: string): boolean;
}

export interface TusAppOptions {
  /** The creation endpoint's path without a trailing slash, e.g. `/files`. */
  path: string;
  /** Where @tus/file-store keeps uploads; the caller owns (and removes) it. */
  directory: string;
  relativeLocation?: boolean;
  maxSize?: number;
  expirationMs?: number;
}

export function createTusApp(options: TusAppOptions): TusApp {
  const store = new CountingFileStore({
    directory: options.directory,
    ...(options.expirationMs === undefined ? {} : { expirationPeriodInMilliseconds: options.expirationMs }),
  });
  const tus = new TusServer({
    path: options.path,
    datastore: store,
    relativeLocation: options.relativeLocation ?? false,
    ...(options.maxSize === undefined ? {} : { maxSize: options.maxSize }),
  });
  return {
    handle: async (req, res) => {
      await tus.handle(req, res);
    },
    receivedBytes: (uploadId) => store.received.get(uploadId) ?? 0,
    sha256(uploadId) {
      return new Promise<string>((resolve, reject) => {
        const hash = createHash('sha256');
        createReadStream(join(options.directory, uploadId))
          .on('data', (chunk) => hash.update(chunk))
          .on('error', reject)
          .on('end', () => resolve(hash.digest('hex')));
      });
    },
    exists: (uploadId) => existsSync(join(options.directory, uploadId)),
  };
}

/**
 * A real tus 1.0.0 server for tests: @tus/server + @tus/file-store on a node:http server on
 * 127.0.0.1:0, creation endpoint `/files/`. `relativeLocation` makes it answer creation with a
 * path-only Location (the client must resolve it); `maxSize` makes it refuse larger uploads (413).
 */
export async function startTusServer(
  options: {
    relativeLocation?: boolean;
    maxSize?: number;
    /**
     * Expiration extension: an unfinished upload expires this long after its creation (answers carry
     * Upload-Expires; a HEAD after it is answered 410).
     */
    expirationMs?: number;
    /**
     * Awaited before @tus/server sees a request (already recorded in `requests`): a test can hold a
     * creation request to kill its client at a known moment.
     */
    beforeHandle?: (request: TusRequestRecord) => Promise<void> | void;
  } = {},
): Promise<TusTestServer> {
  const dir = await makeTempDir('tus-server-');
  const tus = createTusApp({
    path: '/files',
    directory: dir.path,
    ...(options.relativeLocation === undefined ? {} : { relativeLocation: options.relativeLocation }),
    ...(options.maxSize === undefined ? {} : { maxSize: options.maxSize }),
    ...(options.expirationMs === undefined ? {} : { expirationMs: options.expirationMs }),
  });
  const requests: TusRequestRecord[] = [];
  const server: Server = createServer((req, res) => {
    const headers: Array<[string, string]> = [];
    for (let index = 0; index + 1 < req.rawHeaders.length; index += 2) {
      headers.push([req.rawHeaders[index]!, req.rawHeaders[index + 1]!]);
    }
    const record: TusRequestRecord = { method: req.method ?? '', url: req.url ?? '', headers };
    requests.push(record);
    req.on('error', () => {});
    res.on('error', () => {});
    Promise.resolve(options.beforeHandle?.(record))
      .then(() => tus.handle(req, res))
      .catch(() => res.destroy());
  });
  // A client (or the fault proxy) that hangs up mid-request must not crash the test process.
  server.on('clientError', (_error, socket) => socket.destroy());
  const { port, url } = await listenOnLoopback(server);

  return {
    url,
    port,
    endpoint: `${url}/files/`,
    directory: dir.path,
    requests,
    uploadId: (uploadUrl) => new URL(uploadUrl, url).pathname.split('/').at(-1) ?? '',
    uploadIdOfResponse(info) {
      // @tus/server answers with lower-case names; the app's headers view is case-sensitive (R45).
      const location = [...info.headers].find(([name]) => name.toLowerCase() === 'location')?.[1];
      return new URL(location ?? info.actualUri.absoluteUri, url).pathname.split('/').at(-1) ?? '';
    },
    receivedBytes: (uploadId) => tus.receivedBytes(uploadId),
    sha256: (uploadId) => tus.sha256(uploadId),
    exists: (uploadId) => tus.exists(uploadId),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await dir.cleanup();
    },
  };
}
