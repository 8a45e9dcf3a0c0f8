import { randomUUID } from 'node:crypto';
import type { OperationExtras } from '../core/operation-extras.ts';
import type { ProtocolAnswer } from '../protocols/upload-protocol.ts';
import type { BodySource } from '../source/body-source.ts';
import type { AttemptContext } from './run-attempt.ts';

/**
 * The parts of an attempt that keep an upload from being delivered twice (docs/delivery-guarantees.md):
 * the durable Idempotency-Key, the "creation pending" mark that lets recovery tell a resumable creation
 * from a plain POST body, and the record of a response whose body was cut.
 */

const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

/** Extras change durably before the protocol goes on (a resume after a crash needs the session). */
export function saveExtras(context: AttemptContext, extras: OperationExtras): void {
  const updated = context.store.updateExtras(context.live.record.guid, extras);
  context.live.record = { ...context.live.record, extras: updated?.extras ?? extras };
}

/**
 * The request headers plus `Idempotency-Key: "<key>"` (an sf-string), the same on every attempt: the
 * key is made once per operation and stored before the first request that uses it. An app that set
 * its own Idempotency-Key keeps it.
 */
export function withIdempotencyKey(
  context: AttemptContext,
  headers: ReadonlyArray<readonly [string, string]>,
): Array<[string, string]> {
  const list = headers.map(([name, value]): [string, string] => [name, value]);
  if (list.some(([name]) => name.toLowerCase() === 'idempotency-key')) return list;
  let key = context.live.record.extras.idempotencyKey;
  if (key === null) {
    key = randomUUID();
    saveExtras(context, { ...context.live.record.extras, idempotencyKey: key });
  }
  list.push([IDEMPOTENCY_KEY_HEADER, `"${key}"`]);
  return list;
}

/** Stores the "creation pending" mark (only when it changes: one write per attempt at most). */
export function setCreationPending(context: AttemptContext, pending: boolean): void {
  const extras = context.live.record.extras;
  if (extras.creationPending !== pending) saveExtras(context, { ...extras, creationPending: pending });
}

/**
 * The body, unchanged, except that the "creation pending" mark is cleared durably just before a chunk
 * is handed to the connection: the first one (`'first'`: from then on a plain server may hold, and act
 * on, part of the body) or the one that ends the body (`'last'`: for a server known to speak a
 * protocol that keeps a cut request as an unfinished upload and acts only on a complete one). A POST
 * interrupted after that is terminated (R12) unless it has a session.
 */
export function clearingCreationPending(context: AttemptContext, source: BodySource, at: 'first' | 'last'): BodySource {
  return {
    size: source.size,
    read(start, end) {
      const chunks = source.read(start, end);
      // A source may yield past `end` (the consumer cuts): only bytes up to it are handed over.
      const stop = Math.min(end ?? source.size, source.size);
      return {
        async *[Symbol.asyncIterator]() {
          let position = start;
          for await (const chunk of chunks) {
            position = Math.min(position + chunk.byteLength, stop);
            if (at === 'first' || position >= source.size) setCreationPending(context, false);
            yield chunk;
          }
        },
      };
    },
  };
}

/**
 * The final response's body was cut: the response was stored when its headers arrived, and is stored
 * again with `bodyTruncated` (a new ResponseInformation, R41), keeping the bytes that arrived.
 */
export function recordTruncatedResponse(context: AttemptContext, result: ProtocolAnswer): void {
  const { live, store } = context;
  const updated = store.recordResponse(live.record.guid, result.response, live.totalBytesToReceive);
  if (!updated) return;
  live.acceptResponse(
    { ...updated, extras: live.record.extras, ackOffset: live.record.ackOffset },
    live.totalBytesToReceive,
  );
  live.bytesReceived = result.bytesReceived;
  live.dirty = true;
  context.onResponse();
}
