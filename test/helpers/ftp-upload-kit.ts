import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { after, before } from 'node:test';
import { isTransferError, type TransferError } from '../../src/core/errors.ts';
import type { FtpUploadInput } from '../../src/protocols/ftp/ftp-upload-types.ts';
import { type BodySource, fileBody } from '../../src/source/body-source.ts';
import { inspectSourceFile } from '../../src/source/file-source.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from './temp-dir.ts';

/**
 * What the uploadFtp tests share: a big and a small random file (set in useFtpFiles' `before`, removed
 * after the file's tests), the input of an upload of them, and how a failure is taken apart.
 */

export const MiB = 1024 * 1024;
export const BIG_SIZE = 20 * MiB;
export const SMALL_SIZE = MiB + 17;

// Live bindings: set in useFtpFiles' before(), read by the tests after it ran.
export let scratch: TempDir;
export let big: RandomFile;
export let small: RandomFile;

export function useFtpFiles(): void {
  before(async () => {
    scratch = await makeTempDir('bgtransfer-ftp-test-');
    [big, small] = await Promise.all([
      writeRandomFile(scratch.path, 'big.bin', BIG_SIZE),
      writeRandomFile(scratch.path, 'small.bin', SMALL_SIZE),
    ]);
  });
  after(() => scratch?.cleanup());
}

export function bodyOf(file: RandomFile): BodySource {
  return fileBody(inspectSourceFile(file.path));
}

export function inputFor(url: string, overrides: Partial<FtpUploadInput> = {}): FtpUploadInput {
  return {
    url: new URL(url),
    method: 'STOR',
    credentials: null,
    body: bodyOf(small),
    signal: new AbortController().signal,
    connectTimeoutMs: 5_000,
    stallTimeoutMs: 10_000,
    extraCaCertificates: [],
    resume: false,
    onOffset: () => {},
    onBytesSent: () => {},
    ...overrides,
  };
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected the upload to fail');
}

export async function transferErrorOf(promise: Promise<unknown>): Promise<TransferError> {
  const error = await rejection(promise);
  assert.ok(isTransferError(error), `not a TransferError: ${String(error)}`);
  return error;
}
