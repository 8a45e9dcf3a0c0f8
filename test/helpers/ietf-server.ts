import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { hashFile, receiveInto, type StoredUpload } from './ietf-server-store.ts';
import { listenOnLoopback } from './loopback.ts';
import { makeTempDir } from './temp-dir.ts';

export type { IetfUpload } from './ietf-server-store.ts';

/** One request as the server saw it. */
export interface IetfRequestRecord {
  method: string;
  url: string;
  headers: Array<[string, string]>;
  /** The status the server answered (0 while pending or when the connection died first). */
  status: number;
}

/** Upload-Limit the server announces and enforces (§"Limits"). */
export interface IetfServerLimits {
  maxSize?: number;
  minSize?: number;
  maxAppendSize?: number;
  minAppendSize?: number;
  /** Seconds: `expires` to interop 6, `max-age` to 8. */
  maxAge?: number;
}

export interface IetfServerOptions {
  /** Interop versions spoken (default 6 and 8); a request of another version is a plain upload. */
  versions?: number[];
  /** Written in the 104 instead of the request's version (a 104 "of another version"). */
  interimVersion?: string;
  /** false: no 104 at all (a server or proxy that drops 1xx); the final answers still speak the draft. */
  send104?: boolean;
  limits?: IetfServerLimits;
  /** The next HEADs report this many bytes less than stored (a stale offset: the PATCH then gets 409). */
  headLag?: number;
  /** The final answer of a completing request: this status with `Upload-Complete: ?1`. */
  failFinal?: number;
  /**
   * A body limit per request that is not announced: a creation (after its 104) or an append with more
   * content is answered 413 without Upload-Complete, and nothing of it is stored.
   */
  requestLimit?: number;
  /** false: a creation above max-size is not refused at once (the limit is only announced). */
  checkSizeAtCreation?: boolean;
  /** After the body: a 104 every 100 ms and never a final answer. */
  endlessInterims?: boolean;
  /** This many 104 progress reports (Upload-Offset) go out before a final answer. */
  interimStorm?: number;
  /**
   * A loaded disk: a request's last bytes take this long to be written after its body has arrived (a
   * request for the upload that comes meanwhile ends it and waits for them, §"Concurrency").
   */
  flushDelayMs?: number;
}

export interface IetfTestServer {
  url: string;
  port: number;
  directory: string;
  requests: IetfRequestRecord[];
  uploads: Map<string, StoredUpload>;
  options: IetfServerOptions;
  /** The upload id of an upload URL (its last path segment). */
  uploadId(uploadUrl: string): string;
  /** Hex sha256 of the upload's stored bytes. */
  sha256(uploadId: string): Promise<string>;
  /** Drops an upload as if it had expired: later requests for it get 404. */
  forget(uploadId: string): Promise<void>;
  close(): Promise<void>;
}

type Pairs = Array<[string, string]>;
type Answer = (status: number, headers: Pairs, body?: string) => void;

/**
 * The server side of draft-ietf-httpbis-resumable-upload for tests, interop 6 (-04/-05) and 8 (-09 to
 * -11), chosen per request by its `Upload-Draft-Interop-Version`; no npm package implements it. A
 * request to any other path than `/uploads/<id>` that carries a spoken version and `Upload-Complete`
 * creates an upload: a raw `104 Upload Resumption Supported` with the `Location` (and, in 8, the
 * Upload-Limit) goes out before the body is read (Node 20 has no API for an arbitrary 1xx), bytes are
 * stored as they arrive (a cut upload keeps its prefix), and a completed upload is answered 201 with
 * `{"sha256", "bytes"}`. `/uploads/<id>` answers HEAD (offset), PATCH (append; 409 with the offset on a
 * wrong one, 410 in 8 / 400 in 6 once complete) and DELETE; OPTIONS announces Accept-Patch and the
 * limits. A request of no spoken version is a plain upload answered the same way, without draft headers.
 */
export async function startIetfServer(options: IetfServerOptions = {}): Promise<IetfTestServer> {
  const dir = await makeTempDir('ietf-server-');
  const uploads = new Map<string, StoredUpload>();
  const requests: IetfRequestRecord[] = [];
  const spoken = (req: IncomingMessage): number | null => {
    const version = Number(req.headers['upload-draft-interop-version']);
    return (options.versions ?? [6, 8]).includes(version) ? version : null;
  };
  const limitHeader = (version: number): Pairs => {
    const limits = options.limits;
    if (limits === undefined) return [];
    const parts: string[] = [];
    if (limits.maxSize !== undefined) parts.push(`max-size=${limits.maxSize}`);
    parts.push(`min-size=${limits.minSize ?? 0}`);
    if (limits.maxAppendSize !== undefined) parts.push(`max-append-size=${limits.maxAppendSize}`);
    if (limits.minAppendSize !== undefined) parts.push(`min-append-size=${limits.minAppendSize}`);
    if (limits.maxAge !== undefined) parts.push(`${version === 6 ? 'expires' : 'max-age'}=${limits.maxAge}`);
    return [['Upload-Limit', parts.join(', ')]];
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse, record: IetfRequestRecord): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const version = spoken(req);
    const answer: Answer = (status, headers, body = '') => {
      record.status = status;
      if (res.destroyed) return;
      const flat = headers.flat();
      if (version !== null) flat.push('Upload-Draft-Interop-Version', String(version));
      if (status !== 204) flat.push('Content-Length', String(Buffer.byteLength(body)));
      res.writeHead(status, flat);
      res.end(body);
    };
    const interim = (headers: Pairs): void => {
      if (options.send104 === false || res.destroyed) return;
      const lines = [...headers, ['Upload-Draft-Interop-Version', options.interimVersion ?? String(version)]];
      req.socket.write(
        `HTTP/1.1 104 Upload Resumption Supported\r\n${lines.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`,
      );
    };
    if (req.method === 'OPTIONS') {
      if (version === null) return answer(204, [['Allow', 'OPTIONS, POST, PUT']]);
      return answer(204, [['Accept-Patch', 'application/partial-upload'], ...limitHeader(version)]);
    }
    if (path.startsWith('/uploads/')) {
      const upload = uploads.get(path.slice('/uploads/'.length));
      if (upload === undefined) return answer(404, [], 'no such upload');
      // §"Concurrency": a new request for the upload ends the previous one, whose bytes are kept.
      if (upload.active !== null) {
        upload.active.req.socket.destroy();
        await upload.active.done;
      }
      const state = (offset = upload.offset): Pairs => [
        ['Upload-Offset', String(offset)],
        ['Upload-Complete', upload.complete ? '?1' : '?0'],
        ...(upload.length === null ? [] : ([['Upload-Length', String(upload.length)]] as Pairs)),
      ];
      if (req.method === 'HEAD') {
        const lag = Math.min(options.headLag ?? 0, upload.offset);
        options.headLag = 0;
        return answer(204, [
          ...state(upload.offset - lag),
          ['Cache-Control', 'no-store'],
          ...limitHeader(version ?? 6),
        ]);
      }
      if (req.method === 'DELETE') {
        uploads.delete(upload.id);
        await rm(upload.path, { force: true });
        return answer(204, []);
      }
      if (req.method !== 'PATCH') return answer(405, []);
      if (req.headers['content-type'] !== 'application/partial-upload') return answer(415, [], 'wrong type');
      if (upload.complete) {
        req.resume();
        // -11: "If the server retains knowledge of the upload resource but it is not available, the 410 (Gone)".
        return version === 8 ? answer(410, [], 'completed-upload') : answer(400, [], 'completed-upload');
      }
      if (Number(req.headers['upload-offset']) !== upload.offset) {
        req.resume();
        return answer(409, state(), 'mismatching-upload-offset');
      }
      const refused = appendRefusal(req, options);
      if (refused !== null) {
        req.resume();
        return answer(refused[0], state(), refused[1]);
      }
      if (!(await receiveInto(upload, req, options.flushDelayMs))) return;
      return finish(upload, req, answer, interim, []);
    }
    const completeHeader = req.headers['upload-complete'];
    if (version === null || completeHeader === undefined || req.method === 'GET' || req.method === 'HEAD') {
      // Plain upload: store it anyway (under an id nobody is told about) to answer with its hash.
      const plain = await createUpload(null);
      if (!(await receiveInto(plain, req))) return;
      uploads.delete(plain.id);
      const body = JSON.stringify({ sha256: await hashFile(plain.path), bytes: plain.offset });
      await rm(plain.path, { force: true });
      return answer(201, [['Content-Type', 'application/json']], body);
    }
    const declared =
      req.headers['upload-length'] ?? (completeHeader === '?1' ? req.headers['content-length'] : undefined);
    const length = declared === undefined ? null : Number(declared);
    if (
      options.checkSizeAtCreation !== false &&
      options.limits?.maxSize !== undefined &&
      length !== null &&
      length > options.limits.maxSize
    ) {
      req.resume();
      return answer(413, limitHeader(version), 'larger than max-size');
    }
    const upload = await createUpload(length);
    const location: [string, string] = ['Location', `/uploads/${upload.id}`];
    interim([location, ...(version === 8 ? limitHeader(version) : [])]);
    if (options.requestLimit !== undefined && Number(req.headers['content-length'] ?? 0) > options.requestLimit) {
      req.resume();
      return answer(413, [location], 'larger than one request may be');
    }
    if (!(await receiveInto(upload, req, options.flushDelayMs))) return;
    return finish(upload, req, answer, interim, [location, ...limitHeader(version)]);
  };

  const createUpload = async (length: number | null): Promise<StoredUpload> => {
    const id = randomBytes(12).toString('hex');
    const upload: StoredUpload = {
      id,
      path: join(dir.path, id),
      length,
      offset: 0,
      complete: false,
      receivedBytes: 0,
      active: null,
    };
    // Synchronous: the 104 for a creation must go out in the same turn as the request arrives, before a
    // client or a fault proxy can cut the connection (as a real server answers from the request head).
    writeFileSync(upload.path, '');
    uploads.set(id, upload);
    return upload;
  };

  /** After a body ended: the final answer when the upload is complete, else the append's 204. */
  const finish = async (
    upload: StoredUpload,
    req: IncomingMessage,
    answer: Answer,
    interim: (headers: Pairs) => void,
    extra: Pairs,
  ): Promise<void> => {
    for (let index = 0; index < (options.interimStorm ?? 0); index += 1) {
      interim([['Upload-Offset', String(Math.floor((upload.offset * index) / (options.interimStorm ?? 1)))]]);
    }
    const offset: [string, string] = ['Upload-Offset', String(upload.offset)];
    if (options.endlessInterims) {
      const timer = setInterval(() => interim([offset]), 100);
      req.socket.once('close', () => clearInterval(timer));
      return;
    }
    if (req.headers['upload-complete'] !== '?1') {
      // A creation that leaves the upload incomplete is 201 with the Location; an append 204.
      return answer(extra.length > 0 ? 201 : 204, [offset, ['Upload-Complete', '?0'], ...extra]);
    }
    // receiveInto marked it complete when the body ended at the upload's length.
    if (!upload.complete) {
      return answer(400, [offset, ...extra], `upload ended at ${upload.offset} of ${upload.length}`);
    }
    const body = JSON.stringify({ sha256: await hashFile(upload.path), bytes: upload.offset });
    const status = options.failFinal ?? 201;
    return answer(status, [['Content-Type', 'application/json'], ['Upload-Complete', '?1'], offset, ...extra], body);
  };

  const server: Server = createServer((req, res) => {
    const headers: Pairs = [];
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
  const { port, url } = await listenOnLoopback(server);

  return {
    url,
    port,
    directory: dir.path,
    requests,
    uploads,
    options,
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

/** An append outside the limits: 413 above max-append-size or requestLimit, 400 below min-append-size (not completing). */
function appendRefusal(req: IncomingMessage, options: IetfServerOptions): [number, string] | null {
  const { limits, requestLimit } = options;
  const length = Number(req.headers['content-length'] ?? 0);
  if (requestLimit !== undefined && length > requestLimit) return [413, 'larger than one request may be'];
  if (limits?.maxAppendSize !== undefined && length > limits.maxAppendSize) return [413, 'above max-append-size'];
  const completing = req.headers['upload-complete'] === '?1';
  if (limits?.minAppendSize !== undefined && !completing && length < limits.minAppendSize) {
    return [400, 'below min-append-size'];
  }
  return null;
}
