import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './loopback.ts';

/** One PATCH as the server judged it. */
export interface ChecksumPatch {
  offset: number;
  bytes: number;
  /** The Upload-Checksum header, if any. */
  checksum: string | undefined;
  status: number;
  /** The upload the PATCH went to. */
  uploadId: string;
}

/** One creation POST as the server saw it. */
export interface ChecksumCreation {
  /** The Upload-Concat header (`partial`, `final;<urls>`), if any. */
  concat: string | undefined;
  status: number;
  /** The upload it created (none when refused). */
  uploadId: string | undefined;
}

export interface TusChecksumServer {
  url: string;
  port: number;
  /** The creation endpoint, `<url>/files/`. */
  endpoint: string;
  patches: ChecksumPatch[];
  creations: ChecksumCreation[];
  /** Request methods in arrival order (HEAD, POST, PATCH…). */
  methods: string[];
  /** The most PATCH requests that were being received at the same moment. */
  maxConcurrentPatches(): number;
  /** Hex SHA-256 of what an upload stored. */
  sha256(uploadId: string): string;
  uploadIds(): string[];
  /** Drops an upload, as a server that cleaned it up would: it is answered 404 from now on. */
  forget(uploadId: string): void;
  close(): Promise<void>;
}

interface StoredUpload {
  length: number;
  chunks: Buffer[];
  offset: number;
  partial: boolean;
}

/**
 * A tiny tus 1.0.0 server (core, creation, checksum with sha1/sha256), in memory, for integrity tests:
 * @tus/server has no checksum extension. A PATCH whose body does not match its `Upload-Checksum` is
 * answered 460 and stores nothing, as the extension says. `concatenation: true` adds the concatenation
 * extension (which @tus/server 2.x does not have either): partial uploads (`Upload-Concat: partial`)
 * and a final creation (`Upload-Concat: final;<url> <url>…`) that joins complete partial uploads, in
 * that order, into a new upload.
 */
export async function startTusChecksumServer(options: { concatenation?: boolean } = {}): Promise<TusChecksumServer> {
  const uploads = new Map<string, StoredUpload>();
  const patches: ChecksumPatch[] = [];
  const creations: ChecksumCreation[] = [];
  const methods: string[] = [];
  let patching = 0;
  let maxPatching = 0;
  const server: Server = createServer((req, res) => {
    req.on('error', () => {});
    res.on('error', () => {});
    void handle(req, res).catch(() => res.destroy());
  });
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    methods.push(req.method ?? '');
    const isPatch = req.method === 'PATCH';
    if (isPatch) {
      patching += 1;
      maxPatching = Math.max(maxPatching, patching);
    }
    let body: Buffer;
    try {
      body = await readAll(req);
    } finally {
      if (isPatch) patching -= 1;
    }
    const common = { 'Tus-Resumable': '1.0.0' };
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        ...common,
        'Tus-Version': '1.0.0',
        'Tus-Extension': options.concatenation ? 'creation,checksum,concatenation' : 'creation,checksum',
        'Tus-Checksum-Algorithm': 'sha1,sha256',
      });
      res.end();
      return;
    }
    if (req.method === 'POST' && path === '/files/') {
      const concat = req.headers['upload-concat'] as string | undefined;
      const id = randomUUID();
      let status = 201;
      if (concat?.startsWith('final;') && options.concatenation) {
        // "final;" then the partial uploads' URLs, separated by spaces, in the order of their bytes.
        const parts = concat
          .slice('final;'.length)
          .trim()
          .split(/ +/)
          .map((url) => uploads.get(new URL(url, `http://${req.headers.host}`).pathname.split('/').at(-1) ?? ''));
        if (parts.some((part) => part === undefined || !part.partial || part.offset !== part.length)) status = 400;
        else {
          const joined = Buffer.concat(parts.flatMap((part) => part?.chunks ?? []));
          uploads.set(id, { length: joined.byteLength, chunks: [joined], offset: joined.byteLength, partial: false });
        }
      } else if (concat !== undefined && (concat !== 'partial' || !options.concatenation)) status = 400;
      else {
        const partial = concat === 'partial';
        uploads.set(id, { length: Number(req.headers['upload-length']), chunks: [], offset: 0, partial });
      }
      creations.push({ concat, status, uploadId: status === 201 ? id : undefined });
      res.writeHead(
        status,
        status === 201 ? { ...common, Location: `http://${req.headers.host}/files/${id}` } : common,
      );
      res.end();
      return;
    }
    const uploadId = path.split('/').at(-1) ?? '';
    const upload = uploads.get(uploadId);
    if (upload === undefined) {
      res.writeHead(404, common);
      res.end();
      return;
    }
    if (req.method === 'DELETE') {
      // Termination extension: the upload is gone; a later request to it gets 404.
      uploads.delete(uploadId);
      res.writeHead(204, common);
      res.end();
      return;
    }
    if (req.method === 'HEAD') {
      res.writeHead(200, {
        ...common,
        'Upload-Offset': String(upload.offset),
        'Upload-Length': String(upload.length),
        ...(upload.partial ? { 'Upload-Concat': 'partial' } : {}),
        'Cache-Control': 'no-store',
      });
      res.end();
      return;
    }
    const offset = Number(req.headers['upload-offset']);
    const checksum = req.headers['upload-checksum'] as string | undefined;
    let status = 204;
    if (offset !== upload.offset) status = 409;
    else if (checksum !== undefined) {
      const [algorithm, value] = checksum.split(' ');
      const actual = createHash(algorithm === 'sha1' ? 'sha1' : 'sha256')
        .update(body)
        .digest('base64');
      if (actual !== value) status = 460;
    }
    if (status === 204) {
      upload.chunks.push(body);
      upload.offset += body.byteLength;
    }
    patches.push({ offset, bytes: body.byteLength, checksum, status, uploadId });
    res.writeHead(status, { ...common, 'Upload-Offset': String(upload.offset) });
    res.end();
  };
  server.on('clientError', (_error, socket) => socket.destroy());
  const { port, url } = await listenOnLoopback(server);
  return {
    url,
    port,
    endpoint: `${url}/files/`,
    patches,
    creations,
    methods,
    maxConcurrentPatches: () => maxPatching,
    sha256: (id) =>
      createHash('sha256')
        .update(Buffer.concat(uploads.get(id)?.chunks ?? []))
        .digest('hex'),
    uploadIds: () => [...uploads.keys()],
    forget: (id) => {
      uploads.delete(id);
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
