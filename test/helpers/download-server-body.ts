import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ByteRange, Validators } from './range-request.ts';

/**
 * The body half of the download test server (download-server.ts): writing a byte range of a
 * representation with back-pressure, a throttle and a planned reset, and the digest headers of it.
 */

/** A digest header the server sends, computed from the bytes it serves (RFC 9530, RFC 1864). */
export type DigestHeader =
  /** `Repr-Digest` covers the whole representation; `Content-Digest` the bytes of this answer (a 206's part). */
  | { header: 'Repr-Digest' | 'Content-Digest'; algorithm: 'sha-256' | 'sha-512'; wrong?: boolean }
  /** `Content-MD5`: base64 MD5 of this answer's body. */
  | { header: 'Content-MD5'; wrong?: boolean };

/** One version of what a path serves: a file on disk or bytes in memory. */
export interface Representation {
  version: number;
  source: string | Buffer;
  size: number;
  validators: Validators;
  /** Whole-representation digests, computed once when first asked for. */
  digests: Map<string, Promise<Buffer>>;
}

/** What sendBody updates while it writes (the server's request record). */
export interface BodyProgress {
  bytesSent: number;
  complete: boolean;
}

const CHUNK_BYTES = 256 * 1024;

/** Writes `range` of the representation, honouring back-pressure, the throttle and a planned reset. */
export async function sendBody(
  res: ServerResponse,
  rep: Representation,
  range: ByteRange,
  record: BodyProgress,
  throttleBytesPerSecond: number | undefined,
  cutAfterBytes: number | null,
): Promise<void> {
  const reader = await openSource(rep.source);
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
      const chunk = await reader.read(offset, want);
      if (chunk.length === 0) throw new Error(`${describe(rep.source)} is shorter than it was when served`);
      const flushed = res.write(chunk);
      record.bytesSent += chunk.length;
      offset += chunk.length;
      if (!flushed) await waitForDrain(res);
      if (throttleBytesPerSecond !== undefined) {
        const due = started + (record.bytesSent / throttleBytesPerSecond) * 1000;
        if (due > Date.now()) await sleep(due - Date.now());
      }
    }
    await new Promise<void>((done) => res.end(() => done()));
    record.complete = true;
  } finally {
    await reader.close();
  }
}

interface SourceReader {
  read(offset: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

async function openSource(source: string | Buffer): Promise<SourceReader> {
  if (Buffer.isBuffer(source)) {
    return { read: async (offset, length) => source.subarray(offset, offset + length), close: async () => {} };
  }
  const handle: FileHandle = await open(source, 'r');
  return {
    async read(offset, length) {
      const { bytesRead, buffer } = await handle.read(Buffer.allocUnsafe(length), 0, length, offset);
      return buffer.subarray(0, bytesRead);
    },
    close: () => handle.close(),
  };
}

function describe(source: string | Buffer): string {
  return Buffer.isBuffer(source) ? 'the body' : source;
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

/** The header pair for `digest` of this answer (`partial`: a 206 of `range`). */
export async function digestHeader(
  rep: Representation,
  digest: DigestHeader,
  range: ByteRange,
  partial: boolean,
): Promise<[string, string]> {
  const wholeBody = !partial || (range.first === 0 && range.last === rep.size - 1);
  let name: string;
  let value: Buffer;
  if (digest.header === 'Content-MD5') {
    name = 'Content-MD5';
    value = await hashSource(rep.source, 'md5', range);
  } else {
    name = digest.header;
    const algorithm = digest.algorithm === 'sha-256' ? 'sha256' : 'sha512';
    const whole = digest.header === 'Repr-Digest' || wholeBody;
    value = whole ? await wholeDigest(rep, algorithm) : await hashSource(rep.source, algorithm, range);
  }
  if (digest.wrong === true) {
    value = Buffer.from(value);
    value[0] = (value[0] ?? 0) ^ 0xff;
  }
  const text =
    digest.header === 'Content-MD5' ? value.toString('base64') : `${digest.algorithm}=:${value.toString('base64')}:`;
  return [name, text];
}

function wholeDigest(rep: Representation, algorithm: string): Promise<Buffer> {
  let digest = rep.digests.get(algorithm);
  if (digest === undefined) {
    digest = hashSource(rep.source, algorithm, { first: 0, last: rep.size - 1 });
    rep.digests.set(algorithm, digest);
  }
  return digest;
}

async function hashSource(source: string | Buffer, algorithm: string, range: ByteRange): Promise<Buffer> {
  const hash = createHash(algorithm);
  if (range.last < range.first) return hash.digest();
  if (Buffer.isBuffer(source)) return hash.update(source.subarray(range.first, range.last + 1)).digest();
  for await (const chunk of createReadStream(source, { start: range.first, end: range.last }))
    hash.update(chunk as Buffer);
  return hash.digest();
}

/** The number of distinct offsets covered by half-open spans [from, to). */
export function unionLength(spans: ReadonlyArray<ReadonlyArray<number>>): number {
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
