import { z } from 'zod';
import { TransferError } from '../core/errors.ts';
import { hostLogPath, hostSocketPath } from '../core/paths.ts';
import { PROTOCOL_VERSION, protocolError } from './frames.ts';
import { requestId as id, isMethod, METHODS, type Method, snapshotSchema } from './methods.ts';

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
 * Every message is validated on both sides: the host never trusts a client (here, with zod: the schemas
 * are in methods.ts) and a client never trusts whatever answers on the socket (host-message.ts, by hand:
 * the socket client loads no zod; a test holds it to the schemas' verdicts). The framing is in
 * frames.ts. A start request
 * carries only what an app may ask for (core/operation-extras.ts requestExtrasSchema); a field the
 * engine keeps for itself is refused by name. These modules, api/validation.ts and core/request-checks.ts
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
export type { HostStatus, Method, ParamsOf, ResultOf } from './methods.ts';
/** Where the socket and the host's log live; kept here too, where the wire protocol is read. */
export { hostLogPath, hostSocketPath, isMethod, METHODS, snapshotSchema };

// ---- Envelopes.

// Any integer `v` parses, so that a client of another version gets told so rather than "bad request".
const requestEnvelope = z.strictObject({ v: z.number().int(), id, method: z.string(), params: z.unknown() });

/** A validated request: `method` narrows `params`. */
export type ValidRequest = {
  [M in Method]: { method: M; params: z.output<(typeof METHODS)[M]['params']> };
}[Method];

/** A request as the host reads it: either valid, or an error to reply with (and the id, if readable). */
export type ParsedRequest =
  | { ok: true; id: number; request: ValidRequest }
  | { ok: false; id: number | null; error: TransferError };

/** Parses one line from a client; params are validated by the method's schema. */
export function parseRequest(line: string): ParsedRequest {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { ok: false, id: null, error: protocolError('the frame is not valid JSON') };
  }
  const readableId = id.safeParse((raw as { id?: unknown } | null)?.id);
  const replyId = readableId.success ? readableId.data : null;
  const envelope = requestEnvelope.safeParse(raw);
  if (!envelope.success) {
    return { ok: false, id: replyId, error: protocolError(`bad request: ${z.prettifyError(envelope.error)}`) };
  }
  const { method, v } = envelope.data;
  if (v !== PROTOCOL_VERSION) {
    return {
      ok: false,
      id: replyId,
      error: protocolError(`the host speaks protocol ${PROTOCOL_VERSION}, the frame v${v}`),
    };
  }
  if (!isMethod(method)) {
    return { ok: false, id: replyId, error: protocolError(`unknown method ${JSON.stringify(method.slice(0, 64))}`) };
  }
  const params = METHODS[method].params.safeParse(envelope.data.params);
  if (!params.success) {
    const message = `bad params for ${method}: ${z.prettifyError(params.error)}`;
    return { ok: false, id: replyId, error: new TransferError('BT_ERR_INVALID_ARGUMENT', message) };
  }
  return { ok: true, id: envelope.data.id, request: { method, params: params.data } as ValidRequest };
}
