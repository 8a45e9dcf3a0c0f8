import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import busboy from 'busboy';
import { listenOnLoopback } from './loopback.ts';

/**
 * A node:http server for multipart uploads: it keeps each request's raw bytes and parses
 * multipart/form-data with busboy (not with the encoder under test), so a test can compare both.
 */

export interface ReceivedForm {
  files: Array<{ field: string; fileName: string | undefined; mimeType: string; size: number; sha256: string }>;
  fields: Array<{ name: string; value: string; mimeType: string }>;
}

export interface ReceivedRequest {
  path: string;
  method: string;
  contentType: string;
  contentLength: number;
  transferEncoding: string | undefined;
  /** The body exactly as it arrived. */
  raw: Buffer;
  /** busboy's reading of a multipart/form-data body. */
  form: ReceivedForm | null;
}

export interface MultipartServer {
  url: string;
  last(path: string): ReceivedRequest;
  count(path: string): number;
  close(): Promise<void>;
}

export async function startMultipartServer(): Promise<MultipartServer> {
  const received: ReceivedRequest[] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method === 'OPTIONS') {
      // The tus probe of resumeProtocol "auto": this is not a tus server.
      res.writeHead(204).end();
      return;
    }
    const raw = Buffer.concat(chunks);
    const contentType = req.headers['content-type'] ?? '';
    const request: ReceivedRequest = {
      path: new URL(req.url ?? '/', 'http://x').pathname,
      method: req.method ?? '',
      contentType,
      contentLength: Number(req.headers['content-length']),
      transferEncoding: req.headers['transfer-encoding'],
      raw,
      form: contentType.startsWith('multipart/form-data') ? await parseForm(req, raw) : null,
    };
    received.push(request);
    res.writeHead(201, { 'Content-Type': 'text/plain' }).end('stored');
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500).end(String(error));
    });
  });
  const { url } = await listenOnLoopback(server);
  return {
    url,
    last(path) {
      const found = received.filter((request) => request.path === path).at(-1);
      assert.ok(found, `no request for ${path}`);
      return found;
    },
    count: (path) => received.filter((request) => request.path === path).length,
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function parseForm(req: IncomingMessage, raw: Buffer): Promise<ReceivedForm> {
  return new Promise((resolve, reject) => {
    const form: ReceivedForm = { files: [], fields: [] };
    const parser = busboy({ headers: req.headers, defParamCharset: 'utf8' });
    const pending: Promise<void>[] = [];
    parser.on('file', (field, stream, info) => {
      const entry = { field, fileName: info.filename, mimeType: info.mimeType, size: 0, sha256: '' };
      form.files.push(entry);
      pending.push(
        new Promise<void>((done) => {
          const hash = createHash('sha256');
          stream.on('data', (chunk: Buffer) => {
            hash.update(chunk);
            entry.size += chunk.length;
          });
          stream.on('end', () => {
            entry.sha256 = hash.digest('hex');
            done();
          });
        }),
      );
    });
    parser.on('field', (name, value, info) => form.fields.push({ name, value, mimeType: info.mimeType }));
    parser.on('error', reject);
    parser.on('close', () => {
      Promise.all(pending).then(() => resolve(form), reject);
    });
    parser.end(raw);
  });
}
