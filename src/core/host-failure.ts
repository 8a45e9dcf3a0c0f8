import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_DEFINITIONS, type ErrorCode, TransferError, toTransferError } from './errors.ts';
import { nodeCrypto } from './lazy-builtins.ts';
import { readBoundedFile } from './safe-read.ts';

/**
 * Why the last host could not start (bad config, replaced store, unsafe file), as the host wrote it to
 * `host.failed` before exiting. The launcher reads it and rejects the app's call with that code and
 * message, instead of a bare "host unreachable" that sends the user to a log. Written as a temp file
 * (O_EXCL, 0600) renamed into place; removed once a host listens.
 */

export interface HostFailure {
  pid: number;
  code: ErrorCode;
  message: string;
  atMs: number;
}

export function hostFailurePath(home: string): string {
  return join(home, 'host.failed');
}

export function writeHostFailure(home: string, error: unknown): void {
  // An uncoded error (e.g. listen's EADDRINUSE) still reaches the app with the host's own words.
  const coded = toTransferError(error, 'BT_ERR_HOST_UNREACHABLE');
  const failure: HostFailure = { pid: process.pid, code: coded.code, message: coded.message, atMs: Date.now() };
  const path = hostFailurePath(home);
  const temp = `${path}.${process.pid}.${nodeCrypto().randomBytes(4).toString('hex')}.tmp`;
  try {
    const fd = openSync(temp, 'wx', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(failure)}\n`);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch {
    // Best effort: the launcher then reports the exit code and points to host.log.
    rmSync(temp, { force: true });
  }
}

export function clearHostFailure(home: string): void {
  rmSync(hostFailurePath(home), { force: true });
}

/** The recorded failure, or undefined when there is none or it cannot be trusted. */
export function readHostFailure(home: string): HostFailure | undefined {
  try {
    const bytes = readBoundedFile(hostFailurePath(home), {
      maxBytes: 64 * 1024,
      code: 'BT_ERR_HOME_UNSAFE',
      what: 'host failure',
    });
    if (bytes === undefined) return undefined;
    const value = JSON.parse(bytes.toString('utf8')) as Partial<HostFailure>;
    if (
      typeof value.pid !== 'number' ||
      typeof value.code !== 'string' ||
      !(value.code in ERROR_DEFINITIONS) ||
      typeof value.message !== 'string' ||
      typeof value.atMs !== 'number'
    ) {
      return undefined;
    }
    return value as HostFailure;
  } catch {
    return undefined;
  }
}

/** The error an app gets for a host that refused to start. */
export function hostFailureError(failure: HostFailure): TransferError {
  return new TransferError(failure.code, `the transfer host did not start: ${failure.message}`);
}
