import type { AppMethod, Method, Methods } from './methods.ts';

/**
 * The wire methods' names and scopes: what the host's dispatch needs at run time. `satisfies` makes
 * the compiler hold this table to methods.ts: the same names, the same scopes.
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
} as const satisfies { [M in Method]: Methods[M]['scope'] };

export function isMethod(name: string): name is Method {
  return Object.hasOwn(METHOD_SCOPES, name);
}

export function isAppMethod(name: Method): name is AppMethod {
  return METHOD_SCOPES[name] === 'app';
}
