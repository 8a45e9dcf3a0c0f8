import type { ProtocolAttempt, UploadSession } from '../upload-protocol.ts';
import type { ResumableUploadInput } from './resumable-types.ts';

/**
 * The input of a resumable protocol's attempt (tus, the IETF draft) from the engine's: the stored
 * session becomes the upload URL to continue, and a new upload URL becomes a session of `protocol`.
 */
export function resumableInput(attempt: ProtocolAttempt, protocol: UploadSession['protocol']): ResumableUploadInput {
  const session = attempt.session;
  return {
    endpoint: attempt.url,
    headers: attempt.headers,
    credentials: attempt.credentials,
    body: attempt.body,
    session: session?.uploadUrl ? { uploadUrl: session.uploadUrl, expiresAtMs: session.expiresAtMs ?? null } : null,
    dispatcher: attempt.dispatcher,
    signal: attempt.signal,
    responseTimeoutMs: attempt.responseTimeoutMs,
    stallTimeoutMs: attempt.stallTimeoutMs,
    responseBodyPath: attempt.responseBodyPath,
    acknowledgedOffset: attempt.acknowledgedOffset,
    onSession: (uploadUrl, expiresAtMs) =>
      attempt.onSession({
        protocol,
        uploadUrl,
        ...(expiresAtMs === undefined || expiresAtMs === null ? {} : { expiresAtMs }),
      }),
    onOffset: (offset) => attempt.onOffset(offset),
    onBytesSent: (bytesSent) => attempt.onBytesSent(bytesSent),
    onResponse: (response, total) => attempt.onResponse(response, total),
    onBytesReceived: (bytesReceived) => attempt.onBytesReceived(bytesReceived),
  };
}
