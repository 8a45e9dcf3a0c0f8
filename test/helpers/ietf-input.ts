import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Dispatcher } from 'undici';
import { TransferError } from '../../src/core/errors.ts';
import type { ResponseSnapshot } from '../../src/core/snapshot.ts';
import type { IetfUploadInput } from '../../src/protocols/ietf/ietf-upload.ts';
import { fileBody } from '../../src/source/body-source.ts';
import { inspectSourceFile } from '../../src/source/file-source.ts';
import type { IetfRequestRecord } from './ietf-server.ts';
import type { RandomFile } from './temp-dir.ts';

/** What a protocol attempt reported through its callbacks. */
export interface AttemptEvents {
  /** Each session with its expiry and how many body bytes had been sent when it was announced. */
  sessions: Array<{ url: string; expiresAtMs: number | null | undefined; sentSoFar: number }>;
  offsets: number[];
  sent: number[];
  responses: ResponseSnapshot[];
}

let counter = 0;

/** An uploadIetf input for `file` to `endpoint` (POST, an app Authorization), recording its callbacks. */
export function ietfAttempt(
  endpoint: string,
  file: RandomFile,
  dir: string,
  dispatcher: Dispatcher,
  overrides: Partial<IetfUploadInput> = {},
): { input: IetfUploadInput; events: AttemptEvents } {
  const events: AttemptEvents = { sessions: [], offsets: [], sent: [], responses: [] };
  counter += 1;
  const input: IetfUploadInput = {
    endpoint: new URL(endpoint),
    method: 'POST',
    headers: [
      ['Content-Type', 'application/octet-stream'],
      ['Authorization', 'Bearer t'],
    ],
    body: fileBody(inspectSourceFile(file.path)),
    session: null,
    dispatcher,
    signal: new AbortController().signal,
    responseTimeoutMs: 20_000,
    stallTimeoutMs: 20_000,
    maxRedirects: 5,
    responseBodyPath: join(dir, `ietf-response-${counter}.bin`),
    onSession: (url, expiresAtMs) => events.sessions.push({ url, expiresAtMs, sentSoFar: events.sent.at(-1) ?? 0 }),
    onOffset: (offset) => events.offsets.push(offset),
    onBytesSent: (value) => events.sent.push(value),
    onResponse: (response) => events.responses.push(response),
    onBytesReceived() {},
    ...overrides,
  };
  return { input, events };
}

/** A header of a recorded request (case-insensitive). */
export function headerOf(headers: Array<[string, string]>, name: string): string | undefined {
  return headers.find(([candidate]) => candidate.toLowerCase() === name)?.[1];
}

/** Requests as the server saw them, one "METHOD status Content-Length" line each (`-` without one). */
export function requestLines(requests: ReadonlyArray<IetfRequestRecord>): string[] {
  return requests.map(
    (request) => `${request.method} ${request.status} ${headerOf(request.headers, 'content-length') ?? '-'}`,
  );
}

/** The TransferError a promise rejects with. */
export async function rejection(promise: Promise<unknown>): Promise<TransferError> {
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof TransferError, `expected a TransferError, got ${String(error)}`);
  return error;
}
