/**
 * Ordered request-header lists as plain data, shared by the API (before start) and the engine (after
 * start, R64). R63: setting a header again joins the values with ", " (HTTP list semantics; Windows
 * only says "concatenated"). Names match case-insensitively and keep the case first written.
 */
export type HeaderList = Array<[string, string]>;

export function withHeader(list: ReadonlyArray<readonly [string, string]>, name: string, value: string): HeaderList {
  const key = name.toLowerCase();
  let found = false;
  const next: HeaderList = list.map(([existingName, existingValue]) => {
    if (existingName.toLowerCase() !== key) return [existingName, existingValue];
    found = true;
    return [existingName, `${existingValue}, ${value}`];
  });
  if (!found) next.push([name, value]);
  return next;
}

export function withoutHeader(list: ReadonlyArray<readonly [string, string]>, name: string): HeaderList {
  const key = name.toLowerCase();
  return list.filter(([existingName]) => existingName.toLowerCase() !== key).map(([n, v]) => [n, v]);
}

/** One `[name, value]` pair of strings: the shape of every header list that crosses a boundary (store, wire). */
export function isHeaderPair(value: unknown): value is [string, string] {
  return Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string';
}
