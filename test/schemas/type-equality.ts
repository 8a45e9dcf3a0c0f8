/**
 * Compile-time checks that two types are the same: `Expect<Equal<A, B>>` fails the type check unless
 * A and B are identical (the usual conditional-type test, which tells optional from required and
 * `T | undefined` from `T`). Used to hold the published plain types to the zod reference schemas.
 */
export type Equal<A, B> =
  (<T>() => T extends Simplify<A> ? 1 : 2) extends <T>() => T extends Simplify<B> ? 1 : 2 ? true : false;

export type Expect<T extends true> = T;

/** Interfaces and object type aliases compared by their members (deeply), not by how they are declared. */
type Simplify<T> = T extends (infer U)[] ? Simplify<U>[] : T extends object ? { [K in keyof T]: Simplify<T[K]> } : T;
