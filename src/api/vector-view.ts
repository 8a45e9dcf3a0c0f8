/**
 * IVectorView<T> in the JavaScript projection: an array that also has `size` and `getAt(i)`
 * (the WinJS projection: "uploads.size", "uploads[i]"), so both WinJS-era and plain array code work.
 */
export type VectorView<T> = T[] & { readonly size: number; getAt(index: number): T | undefined };

export function asVectorView<T>(items: T[]): VectorView<T> {
  Object.defineProperty(items, 'size', { get: () => items.length, enumerable: false });
  Object.defineProperty(items, 'getAt', { value: (index: number) => items[index], enumerable: false });
  return items as VectorView<T>;
}
