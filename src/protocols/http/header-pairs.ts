/** Request headers in order, names as the app wrote them. */
export type HeaderList = ReadonlyArray<readonly [string, string]>;

/** Response headers as received: name case and order kept (R45). */
export type HeaderPairs = Array<[string, string]>;

/** Framing and hop-by-hop headers belong to the HTTP client (undici computes or rejects them). */
export const CLIENT_OWNED_HEADERS: ReadonlySet<string> = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
]);

/** `headers` without the names in `names` (lower-case), order kept. */
export function withoutHeaders(headers: HeaderList, names: ReadonlySet<string>): HeaderList {
  return headers.filter(([name]) => !names.has(name.toLowerCase()));
}

/** The first value of header `name` (case-insensitive), or undefined. */
export function findHeader(headers: HeaderList, name: string): string | undefined {
  const wanted = name.toLowerCase();
  return headers.find(([candidate]) => candidate.toLowerCase() === wanted)?.[1];
}

/** Content-Length of a response, or 0 when absent or not a number (R37: unknown = 0). */
export function contentLength(headers: HeaderList): number {
  const length = Number(findHeader(headers, 'content-length'));
  return Number.isSafeInteger(length) && length > 0 ? length : 0;
}

/** Response headers as received (R45), falling back to undici's parsed object if raw ones are missing. */
export function headerPairs(raw: unknown, parsed: Record<string, string | string[] | undefined>): HeaderPairs {
  const pairs: HeaderPairs = [];
  if (Array.isArray(raw)) {
    for (let index = 0; index + 1 < raw.length; index += 2) {
      pairs.push([latin1(raw[index]), latin1(raw[index + 1])]);
    }
    return pairs;
  }
  for (const [name, value] of Object.entries(parsed)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) pairs.push([name, item]);
  }
  return pairs;
}

function latin1(value: unknown): string {
  if (Buffer.isBuffer(value)) return value.toString('latin1');
  return String(value);
}
