import { FTPError } from 'basic-ftp';
import { type ErrorCode, TransferError } from '../../core/errors.ts';
import { mapNetworkError } from '../http/network-errors.ts';

/** FTP reply codes that mean "this server does not implement the command" (RFC 959 §4.2). */
const NOT_IMPLEMENTED_REPLIES: ReadonlySet<number> = new Set([500, 501, 502, 504]);

/** The reply code of an FTP error reply, or undefined for any other error. */
export function ftpReplyCode(error: unknown): number | undefined {
  return error instanceof FTPError ? error.code : undefined;
}

export function isNotImplementedReply(error: unknown): boolean {
  const code = ftpReplyCode(error);
  return code !== undefined && NOT_IMPLEMENTED_REPLIES.has(code);
}

/**
 * basic-ftp raises plain Errors (no `code`) for what it detects itself; these name the cause by
 * their message. Socket and TLS errors keep Node's `code` and go through mapNetworkError instead.
 */
const MESSAGE_TABLE: ReadonlyArray<readonly [RegExp, ErrorCode]> = [
  // Its data-connection watchdog: body bytes queued that the server did not take for `timeout` ms.
  [/\bTimeout \(data socket\)/, 'BT_ERR_STALLED'],
  // Its control-socket timer (no reply to a command) and its data-connection connect timer.
  [/\bTimeout \(control socket\)|Timeout when trying to open data connection/, 'BT_ERR_TIMEOUT'],
  [/Server sent FIN packet unexpectedly|Server closed connection unexpectedly/, 'BT_ERR_CONNECTION_ABORTED'],
  [/Socket closed due to transmission error/, 'BT_ERR_CONNECTION_RESET'],
  [/Can't parse response|Unexpected FTP response|control response exceeded/, 'BT_ERR_INVALID_RESPONSE'],
];

/**
 * Turns whatever an FTP attempt threw into a coded TransferError:
 * - an FTP error reply: 530 → BT_ERR_AUTH_FAILED; other 4xx (transient by RFC 959) → BT_ERR_FTP;
 *   5xx → BT_ERR_FTP_PERMANENT. The message carries the reply code and text and the step it answered.
 * - a socket or TLS error → mapNetworkError (BT_ERR_CANNOT_CONNECT, BT_ERR_CERT_UNTRUSTED, …).
 * - basic-ftp's own timeouts and "server hung up" errors → by message.
 * `secrets` (the password) are cut out of every message, whatever the server echoed back.
 */
export function mapFtpError(error: unknown, step: string, secrets: readonly string[], where?: string): TransferError {
  // `FTP STOR a.bin at ftp://host/dir/a.bin: …`: the step and the server it was sent to.
  const label = where === undefined ? `FTP ${step}` : `FTP ${step} at ${where}`;
  if (error instanceof TransferError) return redact(error, secrets);
  const reply = ftpReplyCode(error);
  if (reply !== undefined) {
    const text = error instanceof Error ? error.message.trim() : String(error);
    const withCode = text.startsWith(String(reply)) ? text : `${reply} ${text}`;
    const message = `${label}: the server answered ${withCode}`;
    // No `cause`: the FTPError only repeats the server's reply, which the message already has.
    return redact(new TransferError(codeForReply(reply), message), secrets);
  }
  const message = error instanceof Error ? error.message : String(error);
  // basic-ftp copies the closing error's code onto later "Client is closed because …" errors, or '0'.
  const code: unknown = Reflect.get(Object(error), 'code');
  if (code === undefined || code === '0') {
    for (const [pattern, code] of MESSAGE_TABLE) {
      if (pattern.test(message)) {
        return redact(new TransferError(code, `${label}: ${message}`, { cause: error }), secrets);
      }
    }
  }
  if (code === 'ERR_STREAM_PREMATURE_CLOSE') {
    // The data connection closed (server FIN) while the body was still being piped into it.
    const aborted = new TransferError('BT_ERR_CONNECTION_ABORTED', `${label}: the server closed the data connection`, {
      cause: error,
    });
    return redact(aborted, secrets);
  }
  const mapped = mapNetworkError(error);
  const stepped = new TransferError(mapped.code, `${label}: ${mapped.message}`, { cause: mapped.cause });
  return redact(stepped, secrets);
}

function codeForReply(reply: number): ErrorCode {
  if (reply === 530) return 'BT_ERR_AUTH_FAILED';
  if (reply >= 400 && reply < 500) return 'BT_ERR_FTP';
  return 'BT_ERR_FTP_PERMANENT';
}

function redact(error: TransferError, secrets: readonly string[]): TransferError {
  const present = secrets.filter((secret) => secret !== '' && error.message.includes(secret));
  if (present.length === 0) return error;
  let message = error.message;
  for (const secret of present) message = message.split(secret).join('***');
  // The cause may carry the same text; drop it rather than risk logging the password.
  return new TransferError(error.code, message);
}
