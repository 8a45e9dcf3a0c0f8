import assert from 'node:assert/strict';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { Dispatcher } from 'undici';
import { type ErrorCode, TransferError } from '../../src/core/errors.ts';
import type { ResponseSnapshot } from '../../src/core/snapshot.ts';
import { createDispatcher } from '../../src/net/dispatcher.ts';
import type { HttpUploadInput } from '../../src/protocols/http/http-upload-types.ts';
import { fileBody } from '../../src/source/body-source.ts';
import { inspectSourceFile } from '../../src/source/file-source.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from './temp-dir.ts';
import { makeTestCertificates, type TestCertificates } from './tls-certs.ts';
import { startUploadServer, type UploadServer } from './upload-server.ts';

/**
 * What the uploadHttp tests share: a 3 MiB file and test certificates (set in useHttpUploadBed's
 * `before`), upload servers closed after the file's tests, dispatchers with and without the test CA,
 * an input with test defaults that records its callbacks, and checks of errors and progress.
 */

export const MiB = 1024 * 1024;

// Live bindings: set in useHttpUploadBed's before(), read by the tests after it ran.
export let dir: TempDir;
export let small: RandomFile;
export let certs: TestCertificates;
/** Trusts the system CAs plus the test CA. */
export let dispatcher: Dispatcher;
/** Trusts the system CAs only. */
export let plainDispatcher: Dispatcher;
const servers: UploadServer[] = [];
let responseCounter = 0;

export function useHttpUploadBed(): void {
  before(async () => {
    dir = await makeTempDir('http-upload-test-');
    // Not a multiple of the 256 KiB read chunk, so the last chunk is a partial one.
    small = await writeRandomFile(dir.path, 'small.bin', 3 * MiB + 12_345);
    certs = await makeTestCertificates();
    dispatcher = createDispatcher({ connectTimeoutMs: 5_000, extraCaCertificates: [certs.caCert] });
    plainDispatcher = createDispatcher({ connectTimeoutMs: 5_000, extraCaCertificates: [] });
  });

  after(async () => {
    await Promise.all(servers.map((server) => server.close()));
    await Promise.all([dispatcher.close(), plainDispatcher.close()]);
    await dir.cleanup();
  });
}

/** An upload server closed after the file's tests. */
export async function server(options: Parameters<typeof startUploadServer>[0] = {}): Promise<UploadServer> {
  const started = await startUploadServer(options);
  servers.push(started);
  return started;
}

export interface Events {
  sent: number[];
  received: number[];
  responses: Array<{ response: ResponseSnapshot; totalBytesToReceive: number }>;
}

/** An HttpUploadInput with test defaults; the callbacks record into `events`. */
export function uploadInput(
  url: string,
  file: RandomFile,
  overrides: Partial<HttpUploadInput> = {},
): { input: HttpUploadInput; events: Events } {
  const events: Events = { sent: [], received: [], responses: [] };
  responseCounter += 1;
  const input: HttpUploadInput = {
    url: new URL(url),
    method: 'PUT',
    headers: [],
    body: fileBody(inspectSourceFile(file.path)),
    responseBodyPath: join(dir.path, `response-${responseCounter}.bin`),
    dispatcher,
    signal: new AbortController().signal,
    responseTimeoutMs: 10_000,
    maxRedirects: 5,
    onBytesSent: (value) => events.sent.push(value),
    onResponse: (response, totalBytesToReceive) => events.responses.push({ response, totalBytesToReceive }),
    onBytesReceived: (value) => events.received.push(value),
    ...overrides,
  };
  return { input, events };
}

/** Awaits a rejection and checks it is a TransferError with `code` (and `webErrorStatus` if given). */
export async function rejectsWith(
  promise: Promise<unknown>,
  code: ErrorCode,
  webErrorStatus?: number,
): Promise<TransferError> {
  const error = await promise.then(
    () => assert.fail(`expected ${code}, but the upload succeeded`),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof TransferError, `expected a TransferError, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  if (webErrorStatus !== undefined) assert.equal(error.webErrorStatus, webErrorStatus);
  return error;
}

/** This process's open descriptors for `path` (Linux /proc; elsewhere the check is vacuous). */
export function openDescriptorsOf(path: string): string[] {
  if (!existsSync('/proc/self/fd')) return [];
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  });
}

export function assertMonotonic(values: number[]): void {
  for (let index = 1; index < values.length; index += 1) {
    assert.ok(values[index]! >= values[index - 1]!, `progress went back: ${values.join(',')}`);
  }
}
