import { createHash, type Hash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from '../test/helpers/loopback.ts';

/**
 * A lean tus 1.0.0 server for throughput benchmarks (core protocol + creation): it keeps nothing but
 * a running sha-256 and byte count per upload, so a client is measured, not a store (@tus/server with
 * @tus/file-store writes every byte to disk through several streams, in the same process as the bench).
 *
 * - POST /files/ with Upload-Length → 201, Location /files/<n>;
 * - HEAD /files/<n> → Upload-Offset, Upload-Length;
 * - PATCH /files/<n> with Upload-Offset equal to the stored offset → 204 with the new offset (what
 *   arrived of a cut request is kept, as tus servers do); any other offset → 409.
 * Bytes below the offset are never re-hashed: a re-sent range would be a 409, not a second copy.
 */

export interface LeanTusUpload {
  length: number;
  offset: number;
  /** PATCH body bytes received over all requests. */
  receivedBytes: number;
  /** Hex sha-256 once offset reached length, else null. */
  sha256: string | null;
  /**
   * Seconds from the creation POST's arrival to the end of the PATCH that completed the upload, as this
   * server saw them (null until complete): the transfer's own time, the same for every client, without
   * what a client does before it sends the POST (Node's start-up, opening an in-process engine).
   */
  serverSeconds: number | null;
}

export interface LeanTusServer {
  url: string;
  port: number;
  /** The creation endpoint: `${url}/files/`. */
  endpoint: string;
  /** The upload behind an upload URL (absolute or a path), if the server knows it. */
  upload(uploadUrl: string): LeanTusUpload | undefined;
  /** Forgets an upload (frees its hash state). */
  forget(uploadUrl: string): void;
  close(): Promise<void>;
}

interface State extends LeanTusUpload {
  hash: Hash;
  /** performance.now() when the creation POST arrived. */
  createdAtMs: number;
}

const TUS_HEADERS = { 'Tus-Resumable': '1.0.0' };

export async function startLeanTusServer(): Promise<LeanTusServer> {
  const uploads = new Map<string, State>();
  let counter = 0;
  const idOf = (url: string): string => new URL(url, 'http://x').pathname.split('/').pop() ?? '';

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...TUS_HEADERS, 'Tus-Version': '1.0.0', 'Tus-Extension': 'creation' }).end();
      return;
    }
    if (req.method === 'POST' && path === '/files/') {
      const length = Number(req.headers['upload-length']);
      req.resume();
      if (!Number.isSafeInteger(length) || length < 0) {
        res.writeHead(400, TUS_HEADERS).end();
        return;
      }
      counter += 1;
      const id = String(counter);
      uploads.set(id, {
        length,
        offset: 0,
        receivedBytes: 0,
        sha256: null,
        serverSeconds: null,
        hash: createHash('sha256'),
        createdAtMs: performance.now(),
      });
      res.writeHead(201, { ...TUS_HEADERS, Location: `/files/${id}` }).end();
      return;
    }
    const upload = uploads.get(idOf(path));
    if (upload === undefined) {
      req.resume();
      res.writeHead(404, TUS_HEADERS).end();
      return;
    }
    if (req.method === 'HEAD') {
      req.resume();
      res
        .writeHead(200, {
          ...TUS_HEADERS,
          'Upload-Offset': String(upload.offset),
          'Upload-Length': String(upload.length),
          'Cache-Control': 'no-store',
        })
        .end();
      return;
    }
    if (req.method !== 'PATCH') {
      req.resume();
      res.writeHead(405, TUS_HEADERS).end();
      return;
    }
    if (Number(req.headers['upload-offset']) !== upload.offset) {
      req.resume();
      res.writeHead(409, TUS_HEADERS).end();
      return;
    }
    const finish = (): void => {
      if (upload.offset >= upload.length && upload.sha256 === null) {
        upload.serverSeconds = (performance.now() - upload.createdAtMs) / 1000;
        upload.sha256 = upload.hash.digest('hex');
      }
    };
    req.on('data', (chunk: Buffer) => {
      const room = upload.length - upload.offset;
      const piece = chunk.byteLength > room ? chunk.subarray(0, room) : chunk;
      upload.hash.update(piece);
      upload.offset += piece.byteLength;
      upload.receivedBytes += chunk.byteLength;
    });
    req.on('end', () => {
      finish();
      res.writeHead(204, { ...TUS_HEADERS, 'Upload-Offset': String(upload.offset) }).end();
    });
    req.on('error', finish);
  };

  const server = createServer(onRequest);
  server.on('clientError', (_error, socket) => socket.destroy());
  const { port, url } = await listenOnLoopback(server);
  return {
    url,
    port,
    endpoint: `${url}/files/`,
    upload(uploadUrl) {
      const state = uploads.get(idOf(uploadUrl));
      return state === undefined
        ? undefined
        : {
            length: state.length,
            offset: state.offset,
            receivedBytes: state.receivedBytes,
            sha256: state.sha256,
            serverSeconds: state.serverSeconds,
          };
    },
    forget(uploadUrl) {
      uploads.delete(idOf(uploadUrl));
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
