import type Database from 'better-sqlite3';
import { TransferError } from '../core/errors.ts';

/**
 * What one endpoint speaks, learned by `resumeProtocol: "auto"` and remembered so that later uploads
 * skip the OPTIONS probe. `plain` is a server that answered the probe without tus (the draft's 104 can
 * still upgrade it); `ietf` is a server that sent the draft's 104.
 */
export interface EndpointCapability {
  protocol: 'tus' | 'ietf' | 'plain';
  /** tus: the server's Tus-Extension list (creation, termination, …). */
  tusExtensions?: string[];
  /** tus: Tus-Max-Size in bytes, when the server announced one. */
  tusMaxSize?: number;
  /** tus: the server checks `Upload-Checksum: sha256` (checksum extension). */
  tusSha256Checksum?: boolean;
  /** ietf: the interop version the 104 carried. */
  ietfInteropVersion?: number;
  learnedAtMs: number;
  /** After this the entry is not returned: the endpoint is probed again. */
  expiresAtMs: number;
}

type Details = Omit<EndpointCapability, 'protocol' | 'learnedAtMs' | 'expiresAtMs'>;
const DETAIL_KEYS = new Set(['tusExtensions', 'tusMaxSize', 'tusSha256Checksum', 'ietfInteropVersion']);
const PROTOCOLS = new Set(['tus', 'ietf', 'plain']);

/**
 * The details column: everything that is not a key or a time, validated when read back. By hand, not
 * with zod, so the store loads no zod (a unit test holds it to the zod schema's verdict): every field
 * optional, no other field, integers safe.
 */
export function checkDetails(value: unknown): Details | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const details = value as Record<string, unknown>;
  if (Object.keys(details).some((key) => !DETAIL_KEYS.has(key))) return undefined;
  const { tusExtensions, tusMaxSize, tusSha256Checksum, ietfInteropVersion } = details;
  const ok =
    (tusExtensions === undefined ||
      (Array.isArray(tusExtensions) && tusExtensions.every((name) => typeof name === 'string'))) &&
    (tusMaxSize === undefined || (Number.isSafeInteger(tusMaxSize) && (tusMaxSize as number) >= 0)) &&
    (tusSha256Checksum === undefined || typeof tusSha256Checksum === 'boolean') &&
    (ietfInteropVersion === undefined ||
      (Number.isSafeInteger(ietfInteropVersion) && (ietfInteropVersion as number) > 0));
  return ok ? { ...(details as Details) } : undefined;
}

export interface EndpointRow {
  endpoint: string;
  protocol: string;
  detailsJson: string;
  learnedAtMs: number;
  expiresAtMs: number;
}

export function capabilityToRow(endpoint: string, capability: EndpointCapability): EndpointRow {
  const { protocol, learnedAtMs, expiresAtMs, ...details } = capability;
  assertCapability(endpoint, capability);
  if (!PROTOCOLS.has(protocol) || checkDetails(JSON.parse(JSON.stringify(details))) === undefined) {
    throw new TransferError(
      'BT_ERR_INVALID_ARGUMENT',
      'an endpoint capability with an unknown protocol or bad details',
    );
  }
  return { endpoint, protocol, detailsJson: JSON.stringify(details), learnedAtMs, expiresAtMs };
}

/** A row that does not parse (a newer release wrote it, or it was edited) is treated as unknown. */
export function rowToCapability(row: EndpointRow): EndpointCapability | undefined {
  let details: unknown;
  try {
    details = JSON.parse(row.detailsJson);
  } catch {
    return undefined;
  }
  const parsed = checkDetails(details);
  if (!PROTOCOLS.has(row.protocol) || parsed === undefined) return undefined;
  const protocol = row.protocol as EndpointCapability['protocol'];
  return { protocol, ...parsed, learnedAtMs: row.learnedAtMs, expiresAtMs: row.expiresAtMs };
}

export function assertCapability(endpoint: string, capability: EndpointCapability): void {
  if (
    endpoint === '' ||
    !Number.isSafeInteger(capability.learnedAtMs) ||
    !Number.isSafeInteger(capability.expiresAtMs)
  ) {
    throw new TransferError(
      'BT_ERR_INVALID_ARGUMENT',
      `an endpoint capability needs an endpoint and integer times (got ${JSON.stringify(endpoint)})`,
    );
  }
}

/** The unexpired rows that parse, by endpoint. */
function liveEntries(rows: Iterable<EndpointRow>, now: number): Map<string, EndpointCapability> {
  const entries = new Map<string, EndpointCapability>();
  for (const row of rows) {
    const capability = row.expiresAtMs > now ? rowToCapability(row) : undefined;
    if (capability !== undefined) entries.set(row.endpoint, capability);
  }
  return entries;
}

const SQL = {
  select: 'SELECT * FROM endpointCapabilities WHERE endpoint = ?',
  selectLive: 'SELECT * FROM endpointCapabilities WHERE expiresAtMs > ?',
  upsert: `INSERT INTO endpointCapabilities (endpoint, protocol, detailsJson, learnedAtMs, expiresAtMs)
    VALUES (@endpoint, @protocol, @detailsJson, @learnedAtMs, @expiresAtMs)
    ON CONFLICT (endpoint) DO UPDATE SET protocol = excluded.protocol, detailsJson = excluded.detailsJson,
      learnedAtMs = excluded.learnedAtMs, expiresAtMs = excluded.expiresAtMs`,
  delete: 'DELETE FROM endpointCapabilities WHERE endpoint = ?',
} as const;

/** The endpointCapabilities table (schema v6) on the SQLite store's connection. */
export class SqliteEndpointCapabilities {
  readonly #select: Database.Statement<[string], EndpointRow>;
  readonly #selectLive: Database.Statement<[number], EndpointRow>;
  readonly #upsert: Database.Statement<EndpointRow, never>;
  readonly #delete: Database.Statement<[string], never>;
  readonly #now: () => number;

  constructor(db: Database.Database, now: () => number) {
    this.#select = db.prepare<[string], EndpointRow>(SQL.select);
    this.#selectLive = db.prepare<[number], EndpointRow>(SQL.selectLive);
    this.#upsert = db.prepare<EndpointRow, never>(SQL.upsert);
    this.#delete = db.prepare<[string], never>(SQL.delete);
    this.#now = now;
  }

  get(endpoint: string): EndpointCapability | undefined {
    const row = this.#select.get(endpoint);
    if (row === undefined || row.expiresAtMs <= this.#now()) return undefined;
    return rowToCapability(row);
  }

  all(): Map<string, EndpointCapability> {
    return liveEntries(this.#selectLive.all(this.#now()), this.#now());
  }

  remember(endpoint: string, capability: EndpointCapability): void {
    this.#upsert.run(capabilityToRow(endpoint, capability));
  }

  forget(endpoint: string): void {
    this.#delete.run(endpoint);
  }
}

/** The same semantics in a Map, for the memory store. */
export class MemoryEndpointCapabilities {
  readonly #rows = new Map<string, EndpointRow>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  get(endpoint: string): EndpointCapability | undefined {
    const row = this.#rows.get(endpoint);
    if (row === undefined || row.expiresAtMs <= this.#now()) return undefined;
    return rowToCapability(row);
  }

  all(): Map<string, EndpointCapability> {
    return liveEntries(this.#rows.values(), this.#now());
  }

  remember(endpoint: string, capability: EndpointCapability): void {
    this.#rows.set(endpoint, capabilityToRow(endpoint, capability));
  }

  forget(endpoint: string): void {
    this.#rows.delete(endpoint);
  }
}
