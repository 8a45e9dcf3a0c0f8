import { ERROR_DEFINITIONS, type ErrorCode, type SerializedTransferError } from '../core/errors.ts';
import { isHeaderPair } from '../core/header-list.ts';
import type { CompletionTask, ResponseSnapshot } from '../core/snapshot.ts';

/**
 * The JSON columns of a row, read back by hand rather than with zod: every row the store reads goes
 * through these, and an app running the engine in its own process would otherwise load zod before its
 * first byte. Each gives the verdict and output of the zod schema it replaced (a unit test holds them
 * to it): unknown fields dropped, optional fields absent stay absent. undefined = not that shape.
 */

export function checkHeaders(value: unknown): [string, string][] | undefined {
  if (!Array.isArray(value) || !value.every(isHeaderPair)) return undefined;
  return value.map(([name, text]) => [name, text]);
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

export function checkResponse(value: unknown): ResponseSnapshot | undefined {
  const given = record(value);
  if (!given) return undefined;
  const { statusCode, actualUri, isResumable, bodyTruncated } = given;
  const headers = checkHeaders(given.headers);
  if (
    !Number.isSafeInteger(statusCode) ||
    typeof actualUri !== 'string' ||
    typeof isResumable !== 'boolean' ||
    headers === undefined ||
    (bodyTruncated !== undefined && typeof bodyTruncated !== 'boolean')
  ) {
    return undefined;
  }
  const response: ResponseSnapshot = { statusCode: statusCode as number, actualUri, isResumable, headers };
  if ('bodyTruncated' in given) response.bodyTruncated = bodyTruncated as boolean | undefined;
  return response;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_DEFINITIONS, value);
}

export function checkError(value: unknown): SerializedTransferError | undefined {
  const given = record(value);
  if (!given) return undefined;
  const { code, message, httpStatus } = given;
  if (!isErrorCode(code) || typeof message !== 'string') return undefined;
  if (httpStatus !== undefined && !Number.isSafeInteger(httpStatus)) return undefined;
  const error: SerializedTransferError = { code, message };
  if ('httpStatus' in given) error.httpStatus = httpStatus as number | undefined;
  return error;
}

export function checkTask(value: unknown): CompletionTask | undefined {
  const given = record(value);
  if (!given) return undefined;
  const { command, args, cwd } = given;
  if (typeof command !== 'string' || (cwd !== null && typeof cwd !== 'string')) return undefined;
  if (!Array.isArray(args) || !args.every((arg) => typeof arg === 'string')) return undefined;
  return { command, args: [...args], cwd };
}
