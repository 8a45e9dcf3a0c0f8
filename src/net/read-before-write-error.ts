import type { Socket } from 'node:net';

/**
 * How long a socket whose write failed goes on reading before it is destroyed with the write error.
 * The peer's answer is already in the kernel's receive buffer when this happens (it was sent before
 * the peer closed), so one turn of the event loop is enough; the margin is for a loaded machine.
 */
export const READ_AFTER_WRITE_ERROR_MS = 250;

/** undici's "other side closed": the connection ended with no (complete) answer. */
function isPeerClosed(error: unknown): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'UND_ERR_SOCKET';
}

function isWriteError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { code, syscall } = error as NodeJS.ErrnoException;
  return syscall === 'write' && (code === 'ECONNRESET' || code === 'EPIPE');
}

/**
 * A server or proxy that answers early (401, 407, 413) and closes without reading the body makes the
 * next body write fail with ECONNRESET or EPIPE. Node destroys the socket at once, dropping the
 * answer that already arrived but was not read yet: the request would end as "connection reset"
 * instead of with the answer (tinyproxy's 407, in about half the tries). A socket whose *write*
 * fails keeps reading for READ_AFTER_WRITE_ERROR_MS first: undici parses the answer (a response that
 * ends with the connection is complete then) and the request ends with it; without an answer the
 * write error stands, a moment later.
 */
export function deferWriteErrors(socket: Socket): void {
  const destroy = socket.destroy.bind(socket);
  // Own property over the prototype's: only this socket changes, and every caller (Node's write
  // path, undici, our aborts) goes through it.
  let writeError: Error | null = null;
  socket.destroy = (error?: Error): Socket => {
    if (writeError !== null && isWriteError(error)) return socket;
    if (writeError !== null && isPeerClosed(error)) {
      // The write already consumed the reset, so the read sees a plain end: without an answer, the
      // reset is what happened.
      return destroy(writeError);
    }
    if (writeError !== null || !isWriteError(error) || socket.destroyed || !socket.readable) return destroy(error);
    writeError = error ?? null;
    // Node's Writable marks the readable side errored too, and an errored Readable reads nothing more;
    // it is cleared so undici can read the answer. (No public API does this; `destroy` sets it again.)
    const readable = Reflect.get(socket, '_readableState') as { errored: Error | null } | undefined;
    if (readable !== undefined) readable.errored = null;
    const timer = setTimeout(() => destroy(error), READ_AFTER_WRITE_ERROR_MS);
    socket.once('close', () => clearTimeout(timer));
    return socket;
  };
}
