import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One PATCH as the server judged it. */
export interface ChecksumPatch {
  offset: number;
  bytes: number;
  /** The Upload-Checksum header, if any. */
  checksum: string | undefined;
  status: number;
}

export interface TusChecksumServer {
  url: string;
  port: number;
  /** The creation endpoint, `<url>/files/`. */
  endpoint: string;
  patches: ChecksumPatch[];
  /** Hex SHA-256 of what an upload stored. */
  sha256(uploadId: string): string;
  uploadIds(): string[];
  close(): Promise<void>;
}

/**
 * A tiny tus 1.0.0 server (core, creation, checksum with sha1/sha256), in memory, for integrity tests:
 * @tus/server has no checksum extension. A PATCH whose body does not match its `Upload-Checksum` is
 * answered 460 and stores nothing, as the extension says.
 */
export async function startTusChecksumServer(): Promise<TusChecksumServer> {
  const uploads = new Map<string, { length: number; chunks: Buffer[]; offset: number }>();
  const patches: ChecksumPatch[] = [];
  const server: Server = createServer((req, res) => {
    req.on('error', () => {});
    res.on('error', () => {});
    void handle(req, res).catch(() => res.destroy());
  });
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readAll(req);
    const common = { 'Tus-Resumable': '1.0.0' };
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        ...common,
        'Tus-Version': '1.0.0',
        'Tus-Extension': 'creation,checksum',
        'Tus-Checksum-Algorithm': 'sha1,sha256',
      });
      res.end();
      return;
    }
    if (req.method === 'POST' && path === '/files/') {
      const id = randomUUID();
      uploads.set(id, { length: Number(req.headers['upload-length']), chunks: [], offset: 0 });
      res.writeHead(201, { ...common, Location: `http://${req.headers.host}/files/${id}` });
      res.end();
      return;
    }
    const upload = uploads.get(path.split('/').at(-1) ?? '');
    if (upload === undefined) {
      res.writeHead(404, common);
      res.end();
      return;
    }
    if (req.method === 'HEAD') {
      res.writeHead(200, {
        ...common,
        'Upload-Offset': String(upload.offset),
        'Upload-Length': String(upload.length),
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
    patches.push({ offset, bytes: body.byteLength, checksum, status });
    res.writeHead(status, { ...common, 'Upload-Offset': String(upload.offset) });
    res.end();
  };
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    endpoint: `${url}/files/`,
    patches,
    sha256: (id) =>
      createHash('sha256')
        .update(Buffer.concat(uploads.get(id)?.chunks ?? []))
        .digest('hex'),
    uploadIds: () => [...uploads.keys()],
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
