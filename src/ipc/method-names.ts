import type { AppMethod, METHODS, Method } from './methods.ts';

/**
 * The wire methods' names and scopes without their schemas: what the host's dispatch needs at run
 * time. methods.ts declares each method's params and result with zod, as the reference the hand
 * checks are held to; the host loads no zod (docs/architecture.md, "Checking what crosses the socket").
 * `satisfies` makes the compiler hold this table to METHODS: the same names, the same scopes.
 */
export const METHOD_SCOPES = {
  hello: 'connection',
  start: 'app',
  createSpool: 'app',
  releaseSpool: 'app',
  list: 'app',
  listPage: 'app',
  get: 'app',
  cancel: 'app',
  update: 'app',
  pause: 'app',
  resume: 'app',
  makeCurrent: 'app',
  enableCompletionGroup: 'app',
  watch: 'connection',
  unwatch: 'connection',
  status: 'connection',
  shutdown: 'connection',
} as const satisfies { [M in Method]: (typeof METHODS)[M]['scope'] };

export function isMethod(name: string): name is Method {
  return Object.hasOwn(METHOD_SCOPES, name);
}

export function isAppMethod(name: Method): name is AppMethod {
  return METHOD_SCOPES[name] === 'app';
}
