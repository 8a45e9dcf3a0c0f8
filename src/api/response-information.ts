import type { ResponseSnapshot } from '../core/snapshot.ts';
import { Uri } from './uri.ts';

/**
 * IMapView<string, string> of response headers: keys in the case the server sent, looked up
 * case-sensitively, values exactly as on the wire (R45). Repeated headers are joined with ", ".
 */
export class ResponseHeaders implements Iterable<[string, string]> {
  readonly #map: ReadonlyMap<string, string>;

  constructor(headers: ReadonlyArray<readonly [string, string]>) {
    const map = new Map<string, string>();
    for (const [name, value] of headers) {
      const existing = map.get(name);
      map.set(name, existing === undefined ? value : `${existing}, ${value}`);
    }
    this.#map = map;
  }

  get size(): number {
    return this.#map.size;
  }
  get(name: string): string | undefined {
    return this.#map.get(name);
  }
  has(name: string): boolean {
    return this.#map.has(name);
  }
  /** IMapView.Lookup. */
  lookup(name: string): string | undefined {
    return this.#map.get(name);
  }
  /** IMapView.HasKey. */
  hasKey(name: string): boolean {
    return this.#map.has(name);
  }
  keys(): IterableIterator<string> {
    return this.#map.keys();
  }
  values(): IterableIterator<string> {
    return this.#map.values();
  }
  entries(): IterableIterator<[string, string]> {
    return this.#map.entries();
  }
  forEach(callback: (value: string, key: string) => void): void {
    for (const [key, value] of this.#map) callback(value, key);
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.#map.entries();
  }
}

/** ResponseInformation (R41–R45). */
export class ResponseInformation {
  readonly statusCode: number;
  /** R44: the URI that returned the data (differs from requestedUri after a redirect). */
  readonly actualUri: Uri;
  readonly isResumable: boolean;
  readonly headers: ResponseHeaders;
  /**
   * Beyond Windows: the connection broke (or the transfer host died) while the response body was
   * arriving; getResultStreamAt() returns only what arrived. The status still counts: after a 2xx the
   * upload is complete and is never sent again (docs/delivery-guarantees.md).
   */
  readonly isBodyTruncated: boolean;

  constructor(snapshot: ResponseSnapshot) {
    this.statusCode = snapshot.statusCode;
    this.actualUri = new Uri(snapshot.actualUri);
    this.isResumable = snapshot.isResumable;
    this.isBodyTruncated = snapshot.bodyTruncated === true;
    this.headers = new ResponseHeaders(snapshot.headers);
  }
}
