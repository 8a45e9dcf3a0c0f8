import {
  BackgroundTransferBehavior,
  BackgroundTransferCostPolicy,
  BackgroundTransferPriority,
  BackgroundTransferStatus,
} from '../core/enums.ts';

/**
 * The primitives of the hand-written checks of what crosses the socket: the host's check of every
 * request (request-check.ts, start-spec-check.ts) and the client's of every reply and push
 * (host-message.ts, snapshot-check.ts). Each is held by a unit test to the verdicts of the zod schemas
 * in methods.ts, which stay the reference: the host and the socket client load no zod (docs/architecture.md,
 * "Checking what crosses the socket").
 *
 * A check that fails throws ShapeCheckError naming the path and what was expected there; `key` is
 * joined to `path` only then, so a check that passes builds no string.
 */

/** A value that breaks the rules; the message names where. */
export class ShapeCheckError extends Error {}

export type Path = string;

export const STATUSES: ReadonlySet<unknown> = new Set<unknown>(Object.values(BackgroundTransferStatus));
export const COST_POLICIES: ReadonlySet<unknown> = new Set<unknown>(Object.values(BackgroundTransferCostPolicy));
export const PRIORITIES: ReadonlySet<unknown> = new Set<unknown>(Object.values(BackgroundTransferPriority));
export const BEHAVIORS: ReadonlySet<unknown> = new Set<unknown>(Object.values(BackgroundTransferBehavior));
export const DIRECTIONS: ReadonlySet<unknown> = new Set<unknown>(['upload', 'download']);

export function fail(path: Path, expected: string, key?: string): never {
  throw new ShapeCheckError(`${key === undefined ? path : `${path}.${key}`}: expected ${expected}`);
}

/** A plain object (as zod's: not null, not an array). */
export function record(value: unknown, path: Path, key?: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'an object', key);
  return value as Record<string, unknown>;
}

export function string(value: unknown, path: Path, key: string): void {
  if (typeof value !== 'string') fail(path, 'a string', key);
}

export function nullableString(value: unknown, path: Path, key: string): void {
  if (value !== null && typeof value !== 'string') fail(path, 'a string or null', key);
}

export function boolean(value: unknown, path: Path, key: string): void {
  if (typeof value !== 'boolean') fail(path, 'a boolean', key);
}

/** A finite number (zod's z.number()). */
export function number(value: unknown, path: Path, key: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(path, 'a number', key);
}

/** zod 4's `.int()`: a safe integer. */
export function integer(value: unknown, path: Path, key: string): void {
  if (!Number.isSafeInteger(value)) fail(path, 'an integer', key);
}

export function count(value: unknown, path: Path, key: string): void {
  if (!Number.isSafeInteger(value) || (value as number) < 0) fail(path, 'a count (an integer ≥ 0)', key);
}

export function member(values: ReadonlySet<unknown>, value: unknown, path: Path, key: string, what: string): void {
  if (!values.has(value)) fail(path, what, key);
}

/** As `text` in methods.ts: at most 64 KiB of UTF-16 code units. */
export const TEXT_MAX = 64 * 1024;

export function boundedString(value: unknown, path: Path, key: string, min: number, max: number): void {
  if (typeof value !== 'string' || value.length < min || value.length > max) {
    fail(path, min > 0 ? `a string of ${min} to ${max} characters` : `a string of at most ${max} characters`, key);
  }
}

export function text(value: unknown, path: Path, key: string): void {
  boundedString(value, path, key, 0, TEXT_MAX);
}

export function boundedInteger(value: unknown, path: Path, key: string, min: number, max: number): void {
  integer(value, path, key);
  if ((value as number) < min || (value as number) > max) fail(path, `an integer from ${min} to ${max}`, key);
}

const MAX_NAMED_FIELDS = 10;

/** Throws unless every key of `object` is one of `known`; `refusal` words the message for a client author. */
export function onlyKnown(
  object: Record<string, unknown>,
  known: ReadonlySet<string>,
  path: Path,
  refusal?: (keys: string[]) => string,
): void {
  const unknown: string[] = [];
  for (const key in object) {
    if (!known.has(key)) unknown.push(key);
  }
  if (unknown.length === 0) return;
  // Named as the client sent them, but bounded: the message goes into the reply and the host's log.
  const named = unknown.slice(0, MAX_NAMED_FIELDS).map((key) => (key.length > 64 ? `${key.slice(0, 64)}…` : key));
  if (unknown.length > MAX_NAMED_FIELDS) named.push(`and ${unknown.length - MAX_NAMED_FIELDS} more`);
  const message = refusal?.(named) ?? `unknown field${unknown.length > 1 ? 's' : ''} ${named.join(', ')}`;
  throw new ShapeCheckError(`${path}: ${message}`);
}

/** A `[name, value]` pair; `limit` bounds each string (methods.ts `headerPair`: text), or none. */
export function stringPair(value: unknown, path: Path, key: string, limit: number): void {
  if (!Array.isArray(value) || value.length !== 2) fail(path, 'a [name, value] pair of strings', key);
  boundedString(value[0], path, `${key}[0]`, 0, limit);
  boundedString(value[1], path, `${key}[1]`, 0, limit);
}

export function arrayOf(value: unknown, path: Path, key: string, max: number): unknown[] {
  if (!Array.isArray(value)) fail(path, 'an array', key);
  if (value.length > max) fail(path, `an array of at most ${max} items`, key);
  return value;
}
