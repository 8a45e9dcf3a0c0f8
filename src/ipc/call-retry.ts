import type { OperationChange } from '../core/snapshot.ts';
import type { Method, ParamsOf } from './methods.ts';

/**
 * Whether the socket client may send a call once more when the connection dropped before its reply
 * (the host may or may not have run it). Kept apart from METHODS, the host's schemas, so the client
 * loads no zod.
 */

const always = (): boolean => true;
const never = (): boolean => false;

const RETRY: { [M in Method]: (params: ParamsOf<M>) => boolean } = {
  // A second hello on a new connection is the reconnect itself, not a retry of this one.
  hello: never,
  // The host's start is idempotent per guid (TransferService.start).
  start: always,
  // A spool made by a host that died during the call is removed by the next host.
  createSpool: always,
  releaseSpool: always,
  list: always,
  listPage: always,
  get: always,
  cancel: always,
  // Not when it sets a header: a repeated setHeader joins the value twice (R63).
  update: (params: { change: OperationChange }) => params.change.setHeader === undefined,
  // Each sets a state, so sending one twice is harmless.
  pause: always,
  resume: always,
  makeCurrent: always,
  // The host creates the group once; enabling it again changes nothing.
  enableCompletionGroup: always,
  // Watches are re-sent by the link after a reconnect, under their own ids.
  watch: never,
  unwatch: never,
  status: always,
  // The host may already be gone because of it.
  shutdown: never,
};

export function mayRetry<M extends Method>(method: M, params: ParamsOf<M>): boolean {
  const retry = RETRY[method] as (params: ParamsOf<M>) => boolean;
  return retry(params);
}
