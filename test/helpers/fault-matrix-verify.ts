import assert from 'node:assert/strict';
import { creationBodyBytes } from '../../src/protocols/tus/tus-creation.ts';
import type { MatrixServers, ServerKind, Upload } from './fault-matrix-plan.ts';

/**
 * The fault matrix's checks on the servers: each upload stored byte-exact, resumed where the server
 * was; and the accounting of bytes that crossed the link or reached a server more than once.
 */

export async function verifyOnServer(servers: MatrixServers, upload: Upload): Promise<void> {
  const { tus, draft } = servers;
  const { operation } = upload;
  const info = operation.getResponseInformation();
  const label = `#${upload.index} (${upload.kind}, ${upload.size} bytes)`;
  assert.ok(info, `${label} has a response`);
  assert.ok(info.statusCode >= 200 && info.statusCode < 300, `${label} answered ${info.statusCode}`);
  if (upload.kind === 'tus') {
    const id = tus.uploadIdOfResponse(info);
    assert.equal(await tus.sha256(id), upload.file.sha256, `${label}: sha256 of tus upload ${id}`);
    assert.equal(tus.receivedBytes(id), upload.size, `${label}: the tus server read no byte of ${id} twice`);
    const offsets = patchOffsets(servers, upload, `/files/${id}`);
    // The creation carries the first part of the body (creation-with-upload), never its last byte.
    const carried = creationBodyBytes(upload.size, undefined);
    assert.equal(offsets[0], carried, `${label}: the first PATCH starts where the creation ended`);
    assert.ok(neverBack(offsets), `${label}: each PATCH continues where the server was: ${offsets}`);
    return;
  }
  // A host killed while the answer's body came in completes the upload with the bytes that had
  // arrived and says the body is truncated (delivery rule 2): the servers' own records are checked below.
  if (info.statusCode === 201 && !info.isBodyTruncated) {
    // Both servers answer the completing request with the sha256 and length of what they stored.
    const body = JSON.parse(await readAll(operation.getResultStreamAt(0))) as unknown;
    assert.deepEqual(body, { sha256: upload.file.sha256, bytes: upload.size }, `${label}: the server's answer`);
  }
  if (upload.kind === 'ietf') {
    // Completed by the creation request (its 201 names the resource) or by a PATCH to the resource.
    const id = draft.uploadId(info.headers.get('Location') ?? info.actualUri.absoluteUri);
    const stored = draft.uploads.get(id);
    assert.ok(stored?.complete, `${label}: the draft server has upload ${id} complete`);
    assert.equal(await draft.sha256(id), upload.file.sha256, `${label}: sha256 of draft upload ${id}`);
    assert.equal(stored.receivedBytes, upload.size, `${label}: the draft server read no byte of ${id} twice`);
    const offsets = patchOffsets(servers, upload, `/uploads/${id}`);
    assert.ok(neverBack(offsets), `${label}: each PATCH continues where the server was: ${offsets}`);
    return;
  }
  // A PUT restarts from 0; one that reached its end but whose answer was lost (a kill) is sent again.
  const complete = recordsOf(servers, upload).filter((request) => request.method === 'PUT' && request.complete);
  assert.ok(complete.length >= 1, `${label}: a PUT reached its end`);
  for (const request of complete) assert.equal(request.sha256, upload.file.sha256, `${label}: sha256 of a PUT`);
}

export function patchOffsets(servers: MatrixServers, upload: Upload, path: string): number[] {
  return recordsOf(servers, upload)
    .filter((request) => request.method === 'PATCH' && request.url === path)
    .map((request) => Number(header(request.headers, 'upload-offset')));
}

/** A resumed PATCH never starts before the previous one (equal: the server had kept none of it). */
export function neverBack(values: number[]): boolean {
  return values.every((value, index) => index === 0 || value >= values[index - 1]!);
}

export interface Account {
  index: number;
  kind: ServerKind;
  size: number;
  /** Body bytes the link (proxy) read from the client: all it read minus the request heads. */
  wireBody: number;
  /** wireBody - size: bytes that crossed the link more than once. */
  reSent: number;
  /** Requests that carried body bytes and did not complete the upload. */
  interruptions: number;
  faultsFired: number;
}

export function account(servers: MatrixServers, upload: Upload): Account {
  const wire = upload.proxy.connections.reduce((sum, connection) => sum + connection.upstreamRead, 0);
  const requests = recordsOf(servers, upload);
  const heads = requests.reduce((sum, request) => sum + headSize(request), 0);
  const bodyRequests = requests.filter((request) =>
    upload.kind === 'plain' ? request.method === 'PUT' : request.method === 'PATCH' || request.method === 'PUT',
  ).length;
  const wireBody = wire - heads;
  return {
    index: upload.index,
    kind: upload.kind,
    size: upload.size,
    wireBody,
    reSent: wireBody - upload.size,
    interruptions: Math.max(0, bodyRequests - 1),
    faultsFired: upload.proxy.connections.filter((connection) => connection.fault !== null).length,
  };
}

export interface RequestRecord {
  method: string;
  url: string;
  headers: Array<[string, string]>;
  complete?: boolean;
  sha256?: string | null;
  bodyBytes?: number;
}

export function recordsOf(servers: MatrixServers, upload: Upload): RequestRecord[] {
  const { tus, draft, plain } = servers;
  const all: RequestRecord[] =
    upload.kind === 'tus' ? tus.requests : upload.kind === 'ietf' ? draft.requests : plain.requests;
  return all.filter((request) => header(request.headers, 'x-fault-upload') === String(upload.index));
}

export function header(headers: Array<[string, string]>, name: string): string | undefined {
  return headers.find(([candidate]) => candidate.toLowerCase() === name)?.[1];
}

/** Bytes of an HTTP/1.1 request head as sent: request line, header lines, empty line. */
export function headSize(request: RequestRecord): number {
  let bytes = Buffer.byteLength(`${request.method} ${request.url} HTTP/1.1\r\n\r\n`);
  for (const [name, value] of request.headers) bytes += Buffer.byteLength(`${name}: ${value}\r\n`);
  return bytes;
}

export interface SummaryRow {
  kind: ServerKind;
  uploads: number;
  bytes: number;
  faultsFired: number;
  interruptions: number;
  reSent: number;
  maxReSentPerInterruption: number;
  /** Bytes the server read beyond the files' sizes (abandoned draft uploads, restarted PUTs). */
  serverExtra: number;
}

export function summarize(servers: MatrixServers, kind: ServerKind, accounts: Account[], tusIds: string[]): SummaryRow {
  const { tus, draft, plain } = servers;
  const mine = accounts.filter((entry) => entry.kind === kind);
  const bytes = mine.reduce((sum, entry) => sum + entry.size, 0);
  let serverRead: number;
  if (kind === 'tus') serverRead = tusIds.reduce((sum, id) => sum + tus.receivedBytes(id), 0);
  else if (kind === 'ietf') serverRead = [...draft.uploads.values()].reduce((sum, u) => sum + u.receivedBytes, 0);
  else {
    const mineIndices = new Set(mine.map((entry) => String(entry.index)));
    serverRead = plain.requests
      .filter((request) => mineIndices.has(header(request.headers, 'x-fault-upload') ?? ''))
      .reduce((sum, request) => sum + request.bodyBytes, 0);
  }
  const perInterruption = mine.filter((entry) => entry.interruptions > 0).map((e) => e.reSent / e.interruptions);
  return {
    kind,
    uploads: mine.length,
    bytes,
    faultsFired: mine.reduce((sum, entry) => sum + entry.faultsFired, 0),
    interruptions: mine.reduce((sum, entry) => sum + entry.interruptions, 0),
    reSent: mine.reduce((sum, entry) => sum + entry.reSent, 0),
    maxReSentPerInterruption: Math.max(0, ...perInterruption),
    serverExtra: serverRead - bytes,
  };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}
