import type { CallContext } from '../host/transfer-service.ts';
import type { AppMethod, AppService, ValidParamsOf } from './methods.ts';

/**
 * Runs one app method on the service by name (the host's dispatch and the in-process port). Apart from
 * methods.ts, whose schemas are built when it loads: the in-process port needs only this dispatch, so
 * an app running the engine in its own process does not build the wire schemas at its first call.
 */
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
