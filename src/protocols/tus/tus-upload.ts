import type { HttpUploadResult } from '../http/http-upload-types.ts';
import { planParts, uploadConcatenated } from './tus-concat.ts';
import { probeTusEndpoint } from './tus-control.ts';
import { uploadOne } from './tus-single.ts';
import type { TusUploadInput } from './tus-types.ts';

export type { TusPart, TusUploadInput } from './tus-types.ts';

/**
 * One attempt of a tus 1.0.0 upload (core protocol + creation, and the extensions the server names).
 * Without a session: POST creation (with the body's first part where the server has
 * creation-with-upload), `onSession(Location)`, then PATCH from the offset it acknowledged. With one:
 * HEAD for the offset, then PATCH from there. With `parallelUploads` above 1 and a server that has
 * concatenation, a large body goes as that many partial uploads at once, then one final POST.
 * Resolves with the final response: the last PATCH's answer (or the creation's, when it carried the
 * whole body), or any answer that ends the attempt with an error status (the engine judges it).
 * Rejects with a TransferError (BT_ERR_RESUME_LOST when the server no longer knows the upload or its
 * Upload-Expires passed, BT_ERR_OFFSET_MISMATCH after repeated 409s, network errors), or with
 * `signal.reason` when aborted.
 */
export async function uploadTus(input: TusUploadInput): Promise<HttpUploadResult> {
  input.signal.throwIfAborted();
  if (input.parts !== undefined && input.parts !== null && input.parts.length > 0) {
    return uploadConcatenated(input, input.parts);
  }
  if (input.session === null && (input.parallelUploads ?? 1) > 1) {
    const extensions = input.extensions ?? (await probedExtensions(input));
    const parts = extensions.includes('concatenation') ? planParts(input.body.size, input.parallelUploads ?? 1) : null;
    if (parts !== null) return uploadConcatenated({ ...input, extensions }, parts);
  }
  return uploadOne(input);
}

/** The app asked for parallel parts without the endpoint being probed (resumeProtocol "tus"): ask once. */
async function probedExtensions(input: TusUploadInput): Promise<readonly string[]> {
  const probe = await probeTusEndpoint(input.endpoint, input.dispatcher, input.signal, input.headers, {
    responseTimeoutMs: input.responseTimeoutMs,
    credentials: input.credentials ?? null,
  });
  return probe.extensions;
}
