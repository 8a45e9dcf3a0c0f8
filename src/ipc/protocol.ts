import { hostLogPath, hostSocketPath } from '../core/paths.ts';

/**
 * The app ↔ host wire protocol (docs/architecture.md: "the library talks to the per-user
 * transfer host"). Newline-delimited JSON over `${home}/host.sock`, one message per line, each line at
 * most MAX_FRAME_BYTES. The first frame of a connection is `hello`, which binds it to one app id.
 *
 *   request  {v, id, method, params}
 *   reply    {v, id, ok:true, result} | {v, id, ok:false, error: SerializedTransferError}
 *   push     {v, push:'snapshot', watchId, snapshot}
 *
 * with v = PROTOCOL_VERSION.
 *
 * The methods, their params and results are declared once, in METHODS (methods.ts).
 * A bad frame gets an error reply with the request's id when it could be read (else id null) and the
 * connection stays open; an oversized frame, or anything but a valid `hello` first, closes it.
 *
 * Every message is validated on both sides: the host never trusts a client (request-check.ts and
 * start-spec-check.ts) and a client never trusts whatever answers on the socket (host-message.ts). Both
 * are written by hand, and neither side loads zod; unit tests hold each to the verdicts of the zod
 * schemas in methods.ts, which stay the reference. The framing is in frames.ts. A start request
 * carries only what an app may ask for (start-spec-check.ts, after core/operation-extras.ts
 * requestExtrasSchema); a field the engine keeps for itself is refused by name. These modules, api/validation.ts and core/request-checks.ts
 * (the URI, method and header rules, which the host applies to every start as well) are the only places
 * that reject input.
 */

export {
  encodeFrame,
  encodeFrameParts,
  FrameDecoder,
  hostVersionMismatch,
  isHostVersionMismatch,
  MAX_FRAME_BYTES,
  MAX_HOST_FRAME_BYTES,
  PROTOCOL_VERSION,
  type PushFrame,
  protocolError,
  type ReplyFrame,
  type RequestFrame,
} from './frames.ts';
export { type HostMessage, parseHostMessage, parseResult } from './host-message.ts';
export { isMethod } from './method-names.ts';
export type { HostStatus, Method, ParamsOf, ResultOf } from './methods.ts';
export { type ParsedRequest, parseRequest, type ValidRequest } from './request-check.ts';
/** Where the socket and the host's log live; kept here too, where the wire protocol is read. */
export { hostLogPath, hostSocketPath };
