import type { UploadProtocol } from '../upload-protocol.ts';
import { uploadHttp } from './http-upload.ts';

/**
 * Plain HTTP(S) as an UploadProtocol: the app's request as it is, one body, no session. A cut upload
 * starts again from byte 0 (R38). Chosen only by `resumeProtocol: "none"`: under "auto" a plain server
 * gets the IETF draft's request, which it sees as exactly this one.
 */
export const httpProtocol: UploadProtocol = {
  name: 'http',
  schemes: ['http:', 'https:'],
  choice: 'none',
  remembered: [],
  capabilities: { resumable: false, reprDigest: true, terminates: false, keepsCutCreation: false },
  upload: (attempt) =>
    uploadHttp({
      url: attempt.url,
      method: attempt.method,
      // The whole body in one request: a server that honours the key can drop a repeat.
      headers: attempt.withIdempotencyKey(attempt.headers),
      body: attempt.body,
      credentials: attempt.credentials,
      dispatcher: attempt.dispatcher,
      signal: attempt.signal,
      responseTimeoutMs: attempt.responseTimeoutMs,
      stallTimeoutMs: attempt.stallTimeoutMs,
      maxRedirects: attempt.maxRedirects,
      responseBodyPath: attempt.responseBodyPath,
      onBytesSent: (bytesSent) => attempt.onBytesSent(bytesSent),
      onResponse: (response, total) => attempt.onResponse(response, total),
      onBytesReceived: (bytesReceived) => attempt.onBytesReceived(bytesReceived),
      // A body re-sent after a rejected Repr-Digest starts again from byte 0.
      onRestart: () => attempt.onRestarted(),
    }),
};
