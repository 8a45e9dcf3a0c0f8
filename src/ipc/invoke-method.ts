import type { CallContext } from '../host/transfer-service.ts';
import type { AppMethod, ValidParamsOf } from './methods.ts';

/**
 * What the host's service must offer: one method per app method (methods.ts), named alike, taking the
 * caller and the validated params. Results are checked where they are read (the client's parseResult).
 * Here, not in methods.ts: the published types of an app's side then stop at the wire's shapes and do
 * not reach the host, its engine and store.
 */
export type AppService = { [M in AppMethod]: (context: CallContext, params: ValidParamsOf<M>) => unknown };

/** Runs one app method on the service by name (the host's dispatch and the in-process port). */
export function invoke<M extends AppMethod>(
  service: AppService,
  method: M,
  context: CallContext,
  params: ValidParamsOf<M>,
): unknown {
  // TypeScript cannot tie `service[method]`'s parameter type to `params` through the mapped type;
  // AppService and ValidParamsOf<M> come from the same table entry, so the call is sound.
  const handler = service[method] as (context: CallContext, params: ValidParamsOf<M>) => unknown;
  return handler.call(service, context, params);
}
