import type { Socket } from 'node:net';
import { TransferError } from '../core/errors.ts';

/** A CONNECT answer's head larger than this is not a proxy we understand. */
const MAX_HEAD_BYTES = 64 * 1024;

/**
 * The proxy refused to open a tunnel (CONNECT answered non-2xx, e.g. 407 Proxy Authentication
 * Required or 403). It answered in place of the origin server, so the exchange turns this into the
 * request's final response (status and the proxy's headers, empty body): a 407 reaches the engine as
 * a final response (BT_ERR_HTTP_STATUS, 0x80190197) exactly as it does for plain-http proxying.
 */
export class ProxyRefusedError extends Error {
  readonly statusCode: number;
  /** The proxy's answer headers, as received (e.g. `Proxy-Authenticate`). */
  readonly headers: Array<[string, string]>;

  constructor(statusCode: number, headers: Array<[string, string]>, message: string) {
    super(message);
    this.name = 'ProxyRefusedError';
    this.statusCode = statusCode;
    this.headers = headers;
  }
}

/**
 * Asks the proxy on `socket` for a tunnel to `authority` (`host:port`, RFC 9110 §9.3.6 CONNECT) and
 * resolves once it answered 2xx; the socket then carries the tunnel (TLS to the origin goes next).
 * Rejects with ProxyRefusedError for any other status, BT_ERR_INVALID_RESPONSE for an answer that is
 * not HTTP, BT_ERR_CANNOT_CONNECT when the proxy closes without answering, or the socket's error.
 * `label` names the proxy in messages (never its credentials).
 */
export function openTunnel(
  socket: Socket,
  authority: string,
  proxyAuthorization: string | null,
  label: string,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let buffered: Buffer = Buffer.alloc(0);
    const stop = (): void => {
      // Paused before the listener goes, so no byte is lost to a flowing stream without readers.
      socket.pause();
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) {
        if (buffered.length <= MAX_HEAD_BYTES) return;
        stop();
        reject(new TransferError('BT_ERR_INVALID_RESPONSE', `the proxy ${label} sent an oversized CONNECT answer`));
        return;
      }
      stop();
      const head = parseHead(buffered.subarray(0, end).toString('latin1'));
      if (head === null) {
        reject(new TransferError('BT_ERR_INVALID_RESPONSE', `the proxy ${label} did not answer CONNECT with HTTP`));
        return;
      }
      if (head.status < 200 || head.status >= 300) {
        reject(
          new ProxyRefusedError(
            head.status,
            head.headers,
            `the proxy ${label} answered ${head.status} to CONNECT ${authority}`,
          ),
        );
        return;
      }
      const rest = buffered.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      resolve();
    };
    const onError = (error: Error): void => {
      stop();
      reject(error);
    };
    const onClose = (): void => {
      stop();
      reject(
        new TransferError('BT_ERR_CANNOT_CONNECT', `the proxy ${label} closed the connection before answering CONNECT`),
      );
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`];
    if (proxyAuthorization !== null) lines.push(`Proxy-Authorization: ${proxyAuthorization}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  });
}

/** Status line and header fields of an HTTP/1.x answer head (RFC 9112 §4, §5), or null. */
function parseHead(text: string): { status: number; headers: Array<[string, string]> } | null {
  const [statusLine = '', ...fields] = text.split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(statusLine);
  if (match === null) return null;
  const headers: Array<[string, string]> = [];
  for (const field of fields) {
    const colon = field.indexOf(':');
    if (colon <= 0) continue;
    headers.push([field.slice(0, colon), field.slice(colon + 1).trim()]);
  }
  return { status: Number(match[1]), headers };
}
