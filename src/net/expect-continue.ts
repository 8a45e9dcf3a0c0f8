import type { Socket } from 'node:net';

/**
 * `Expect: 100-continue` for undici's HTTP/1.1 client, which refuses an `Expect` header and drops a
 * connection that answers `100 Continue` (it has no way to hold a body for it). Servers such as
 * Apache need the header to refuse a request (401, 413) without first reading its whole body.
 *
 * The exchange asks for it with the header EXPECT_MARKER (its value `100-continue`); on the wire,
 * per socket of our connector:
 * - the request head's marker line is rewritten to `Expect: 100-continue`;
 * - the first answer after that head, when it is `100`, reaches undici as status INTERIM_CONTINUE
 *   (an ordinary 1xx, which undici passes on as informational): the exchange takes it as "go on".
 * Everything else passes untouched. Without our connector the marker goes out as an unknown header,
 * which servers ignore, and the exchange sends the body after its short wait.
 */
export const EXPECT_MARKER = 'x-bgtransfer-expect';

/** What a `100 Continue` is delivered as (a 1xx code with no other meaning). */
export const INTERIM_CONTINUE = 199;

const MARKER_LINE = new RegExp(`\\r\\n${EXPECT_MARKER}: 100-continue\\r\\n`, 'i');
/** `HTTP/1.1 100` is twelve bytes: the least needed to recognise a 100. */
const STATUS_LINE_PREFIX_BYTES = 12;

export function supportExpectContinue(socket: Socket): void {
  let armed = false;
  let held: Buffer | null = null;
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  const push = socket.push.bind(socket);
  // Own properties over the prototype's: only this socket changes.
  socket.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
    if (typeof chunk === 'string' && MARKER_LINE.test(chunk)) {
      armed = true;
      return write(chunk.replace(MARKER_LINE, '\r\nExpect: 100-continue\r\n'), ...rest);
    }
    return write(chunk, ...rest);
  }) as Socket['write'];
  socket.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (!armed || !Buffer.isBuffer(chunk)) {
      if (held !== null) {
        push(held);
        held = null;
      }
      return push(chunk, encoding);
    }
    let data = held === null ? chunk : Buffer.concat([held, chunk]);
    held = null;
    if (data.length < STATUS_LINE_PREFIX_BYTES) {
      held = data;
      return true;
    }
    armed = false;
    if (/^HTTP\/1\.[01] 100$/.test(data.subarray(0, STATUS_LINE_PREFIX_BYTES).toString('latin1'))) {
      data = Buffer.from(data);
      data.write(String(INTERIM_CONTINUE), 9, 'latin1');
    }
    return push(data);
  };
}
