import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { makeTempDir } from './temp-dir.ts';

/** One request as the server saw it. */
export interface IetfRequestRecord {
  method: string;
  url: string;
  headers: Array<[string, string]>;
  /** The status the server answered (0 while pending or when the connection died first). */
  status: number;
}

/** Server-side state of one upload resource. */
export interface IetfUpload {
  id: string;
  /** Length of the representation, when known (Content-Length of a completing creation, or Upload-Length). */
  length: number | null;
  /** Bytes stored (flushed to the data file). */
  offset: number;
  complete: boolean;
  /** Body bytes received over all requests (bytes sent twice count twice). */
  receivedBytes: number;
}

export interface IetfServerOptions {
  /** Upload-Draft-Interop-Version written in the 104 (default '6'). */
  interopVersion?: string;
}

export interface IetfTestServer {
  url: string;
  port: number;
  directory: string;
  requests: IetfRequestRecord[];
  uploads: Map<string, IetfUpload>;
  /** The upload id of an upload URL (its last path segment). */
  uploadId(uploadUrl: string): string;
  /** Hex sha256 of the upload's stored bytes. */
  sha256(uploadId: string): Promise<string>;
  /** Drops an upload as if it had expired: later requests for it get 404. */
  forget(uploadId: string): Promise<void>;
  close(): Promise<void>;
}

interface UploadState extends IetfUpload {
  path: string;
  /** The request currently writing to the upload, and when its bytes are all flushed. */
  active: { req: IncomingMessage; done: Promise<void> } | null;
}

/**
 * The server side of draft-ietf-httpbis-resumable-upload-05 (interop 6) for tests; no npm package
 * implements it. A request to any other path that carries
 * `Upload-Draft-Interop-Version` creates an upload: a raw `104 Upload Resumption Supported` with the
 * `Location` goes out before the body is read (Node 20 has no API for an arbitrary 1xx),
 * bytes are stored as they arrive (a cut upload keeps its prefix), and the final answer is 201
 * with `{"sha256", "bytes"}`. `/uploads/<id>` answers HEAD (offset), PATCH (append; 409 on a wrong
 * offset) and DELETE. A request without the header is a plain upload answered the same way.
 */
export async function startIetfServer(options: IetfServerOptions = {}): Promise<IetfTestServer> {
  const dir = await makeTempDir('ietf-server-');
  const interop = options.interopVersion ?? '6';
  const uploads = new Map<string, UploadState>();
  const requests: IetfRequestRecord[] = [];

  const onRequest = async (req: IncomingMessage, res: ServerResponse, record: IetfRequestRecord): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const answer = (status: number, headers: Array<[string, string]>, body = ''): void => {
      record.status = status;
      if (res.destroyed) return;
      const flat = [...headers.flat(), 'Upload-Draft-Interop-Version', interop];
      if (status !== 204) flat.push('Content-Length', String(Buffer.byteLength(body)));
      res.writeHead(status, flat);
      res.end(body);
    };
    if (path.startsWith('/uploads/')) {
      const upload = uploads.get(path.slice('/uploads/'.length));
      if (upload === undefined) return answer(404, [], 'no such upload');
      // §"Concurrency": a new request for the upload ends the previous one, whose bytes are kept.
      if (upload.active !== null) {
        upload.active.req.socket.destroy();
        await upload.active.done;
      }
      const state = (): Array<[string, string]> => [
        ['Upload-Offset', String(upload.offset)],
        ['Upload-Complete', upload.complete ? '?1' : '?0'],
        ...(upload.length === null ? [] : ([['Upload-Length', String(upload.length)]] as Array<[string, string]>)),
      ];
      if (req.method === 'HEAD') return answer(204, [...state(), ['Cache-Control', 'no-store']]);
      if (req.method === 'DELETE') {
        uploads.delete(upload.id);
        await rm(upload.path, { force: true });
        return answer(204, []);
      }
      if (req.method !== 'PATCH') return answer(405, []);
      if (req.headers['content-type'] !== 'application/partial-upload') return answer(415, [], 'wrong type');
      if (Number(req.headers['upload-offset']) !== upload.offset || upload.complete) {
        req.resume();
        return answer(409, state(), 'mismatching-upload-offset');
      }
      const ended = await receive(upload, req);
      if (!ended) return;
      return finish(upload, req, answer, []);
    }
    if (req.headers['upload-draft-interop-version'] === undefined || req.method === 'GET' || req.method === 'HEAD') {
      // Plain upload: store it anyway (under an id nobody is told about) to answer with its hash.
      const plain = await createUpload(null);
      if (!(await receive(plain, req))) return;
      uploads.delete(plain.id);
      const body = JSON.stringify({ sha256: await hashFile(plain.path), bytes: plain.offset });
      await rm(plain.path, { force: true });
      return answer(201, [['Content-Type', 'application/json']], body);
    }
    const complete = req.headers['upload-complete'] === '?1';
    const declared = req.headers['upload-length'] ?? (complete ? req.headers['content-length'] : undefined);
    const upload = await createUpload(declared === undefined ? null : Number(declared));
    req.socket.write(
      'HTTP/1.1 104 Upload Resumption Supported\r\n' +
        `Location: /uploads/${upload.id}\r\nUpload-Draft-Interop-Version: ${interop}\r\n\r\n`,
    );
    if (!(await receive(upload, req))) return;
    return finish(upload, req, answer, [['Location', `/uploads/${upload.id}`]]);
  };

  const createUpload = async (length: number | null): Promise<UploadState> => {
    const id = randomBytes(12).toString('hex');
    const upload: UploadState = {
      id,
      path: join(dir.path, id),
      length,
      offset: 0,
      complete: false,
      receivedBytes: 0,
      active: null,
    };
    await writeFile(upload.path, '');
    uploads.set(id, upload);
    return upload;
  };

  const server: Server = createServer((req, res) => {
    const headers: Array<[string, string]> = [];
    for (let index = 0; index + 1 < req.rawHeaders.length; index += 2) {
      headers.push([req.rawHeaders[index]!, req.rawHeaders[index + 1]!]);
    }
    const record: IetfRequestRecord = { method: req.method ?? '', url: req.url ?? '', headers, status: 0 };
    requests.push(record);
    req.on('error', () => {});
    res.on('error', () => {});
    onRequest(req, res, record).catch(() => res.destroy());
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    port,
    directory: dir.path,
    requests,
    uploads,
    uploadId: (uploadUrl) => new URL(uploadUrl, url).pathname.split('/').at(-1) ?? '',
    sha256: (uploadId) => hashFile(join(dir.path, uploadId)),
    async forget(uploadId) {
      const upload = uploads.get(uploadId);
      uploads.delete(uploadId);
      upload?.active?.req.socket.destroy();
      await upload?.active?.done;
      await rm(join(dir.path, uploadId), { force: true });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...uploads.values()].map((upload) => upload.active?.done));
      await dir.cleanup();
    },
  };
}

/**
 * Appends the request body at the upload's offset as it arrives (backpressure: the socket pauses
 * while the disk catches up). Resolves true when the body ended normally, false when the
 * connection died first; either way every received byte is flushed and counted in `offset`.
 */
function receive(upload: UploadState, req: IncomingMessage): Promise<boolean> {
  const start = upload.offset;
  // A 1 MiB buffer, like a real server's: a 16 KiB one pauses the socket so often that a cut loses
  // megabytes queued in the kernel.
  const file = createWriteStream(upload.path, { flags: 'r+', start, highWaterMark: 1024 * 1024 });
  let ended = false;
  const done = new Promise<void>((resolve) => {
    file.on('close', () => {
      upload.offset = start + file.bytesWritten;
      upload.active = null;
      resolve();
    });
    file.on('error', () => {});
  });
  upload.active = { req, done };
  req.on('data', (chunk: Buffer) => {
    upload.receivedBytes += chunk.byteLength;
    if (!file.write(chunk)) {
      req.pause();
      file.once('drain', () => req.resume());
    }
  });
  req.on('end', () => {
    ended = true;
    file.end();
  });
  req.on('close', () => {
    if (!file.writableEnded) file.end();
  });
  return done.then(() => ended);
}

/** After a body ended: the final 201 when the upload is complete, else the append's 204. */
async function finish(
  upload: UploadState,
  req: IncomingMessage,
  answer: (status: number, headers: Array<[string, string]>, body?: string) => void,
  extra: Array<[string, string]>,
): Promise<void> {
  const offset: [string, string] = ['Upload-Offset', String(upload.offset)];
  if (req.headers['upload-complete'] !== '?1') return answer(204, [offset, ['Upload-Complete', '?0'], ...extra]);
  if (upload.length !== null && upload.offset !== upload.length) {
    return answer(400, [offset, ...extra], `upload ended at ${upload.offset} of ${upload.length}`);
  }
  upload.complete = true;
  upload.length = upload.offset;
  const body = JSON.stringify({ sha256: await hashFile(upload.path), bytes: upload.offset });
  return answer(201, [['Content-Type', 'application/json'], ['Upload-Complete', '?1'], offset, ...extra], body);
}

function hashFile(path: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
