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
