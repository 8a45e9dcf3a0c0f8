import { resumableInput } from '../http/resumable-input.ts';
import type { ProtocolAnswer, ProtocolAttempt, UploadProtocol } from '../upload-protocol.ts';
import { type IetfUploadInput, LARGE_UPLOAD_BYTES, terminateIetf, uploadIetf } from './ietf-upload.ts';
import { creationsUnanswered } from './lost-interims.ts';

/**
 * A body large enough to wait for the 104, to an endpoint the memory knows speaks the draft, or where
 * a creation sent at once lately got no answer at all (lost-interims.ts).
 */
function waitsUnderAuto(attempt: ProtocolAttempt): boolean {
  if (attempt.body.size < LARGE_UPLOAD_BYTES) return false;
  return attempt.endpoint?.protocol === 'ietf' || creationsUnanswered(attempt.url);
}

/**
 * The IETF draft "Resumable Uploads for HTTP" as an UploadProtocol. Under "auto" it is also what an
 * endpoint without tus gets: its creation is the app's own request with the draft's headers, which a
 * plain server ignores (then R38 restarts apply), and a 104 from a draft server makes it resumable.
 */
export const ietfProtocol: UploadProtocol = {
  name: 'ietf',
  schemes: ['http:', 'https:'],
  choice: 'ietf',
  remembered: ['ietf', 'plain'],
  capabilities: { resumable: true, reprDigest: true, terminates: true, keepsCutCreation: true },
  upload(attempt) {
    // Filled in place: spreading the resumable input into a new object cost a copy per upload.
    const input: IetfUploadInput = Object.assign(resumableInput(attempt, 'ietf'), {
      method: attempt.method,
      maxRedirects: attempt.maxRedirects,
      interopVersion: attempt.extras.ietfInteropVersion,
    });
    // The draft's creation request carries the whole body; appends to the resource need no key.
    if (!attempt.session?.uploadUrl) input.headers = attempt.withIdempotencyKey(attempt.headers);
    // Only an app that named the draft, or an endpoint known to speak it (a 104 came before) or
    // suspected of losing its 104s, gets the wait for a 104 (and careful creation): under "auto" most
    // endpoints are plain servers, which the wait would only delay. Small bodies never wait, so they
    // pay no endpoint lookup here.
    if (attempt.extras.resumeProtocol !== 'ietf' && !waitsUnderAuto(attempt)) {
      input.largeUploadBytes = Number.POSITIVE_INFINITY;
    }
    return uploadIetf(input);
  },
  terminate(termination) {
    const uploadUrl = termination.session.uploadUrl;
    if (!uploadUrl) return Promise.resolve();
    return terminateIetf(uploadUrl, termination.dispatcher, termination.headers, termination.signal, {
      credentials: termination.extras.serverCredential,
      credentialScope: termination.credentialScope,
      interopVersion: termination.extras.ietfInteropVersion,
    });
  },
  // A learned plain endpoint answering with Tus-Resumable (tus servers put it on every answer but OPTIONS's).
  contradicts: (answer: ProtocolAnswer) =>
    answer.response.headers.some(([name]) => name.toLowerCase() === 'tus-resumable'),
  // A session of the draft under "auto" means a 104 came: the endpoint speaks it.
  learnsFromSession: (extras) => ({ protocol: 'ietf', ietfInteropVersion: extras.ietfInteropVersion }),
};
