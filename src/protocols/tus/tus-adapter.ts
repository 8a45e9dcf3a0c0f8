import { basename } from 'node:path';
import { resumableInput } from '../http/resumable-input.ts';
import type { LearnedEndpoint, ProtocolAnswer, UploadProtocol } from '../upload-protocol.ts';
import { probeTusEndpoint, terminateTusUploads } from './tus-control.ts';
import { uploadTus } from './tus-upload.ts';

/** tus refuses a creation at an endpoint without tus (404/405/412 to the POST): the endpoint changed. */
const TUS_GONE_STATUSES: ReadonlySet<number> = new Set([404, 405, 412]);

/**
 * tus 1.0 (core, creation, termination, checksum) as an UploadProtocol. Under "auto" it is the one
 * protocol probed for (OPTIONS, remembered per endpoint), since a tus server cannot be found any
 * other way: it refuses a plain request.
 */
export const tusProtocol: UploadProtocol = {
  name: 'tus',
  schemes: ['http:', 'https:'],
  choice: 'tus',
  remembered: ['tus'],
  // Its integrity is per PATCH (Upload-Checksum), not one Repr-Digest header.
  capabilities: {
    resumable: true,
    reprDigest: false,
    terminates: true,
    keepsCutCreation: false,
    creationAlwaysUnfinished: true,
  },
  upload: (attempt) =>
    uploadTus({
      ...resumableInput(attempt, 'tus'),
      metadata: attempt.sourcePath ? { filename: basename(attempt.sourcePath) } : {},
      sha256Checksum: attempt.extras.tusSha256Checksum,
      extensions: attempt.endpoint?.tusExtensions,
      parallelUploads: attempt.extras.tusParallelUploads,
      parts: attempt.session?.tusParts ?? null,
      // Each part's URL and offset are stored as the session: a later attempt continues every part.
      onParts: (tusParts) => attempt.onSession({ protocol: 'tus', uploadUrl: null, tusParts: [...tusParts] }),
    }),
  terminate(termination) {
    const { session } = termination;
    // Parallel partial uploads are uploads of their own: each is deleted, not left for the server to expire.
    const urls = [session.uploadUrl, ...(session.tusParts ?? []).map((part) => part.uploadUrl)];
    return terminateTusUploads(urls, termination.dispatcher, termination.headers, termination.signal, {
      credentials: termination.extras.serverCredential,
      credentialScope: termination.credentialScope,
    });
  },
  async probe(probe) {
    const answer = await probeTusEndpoint(probe.url, probe.dispatcher, probe.signal, probe.headers, {
      credentials: probe.credentials,
    });
    const learned: LearnedEndpoint = answer.tus
      ? {
          protocol: 'tus',
          tusExtensions: answer.extensions,
          ...(answer.maxSize === undefined ? {} : { tusMaxSize: answer.maxSize }),
          ...(answer.sha256Checksum ? { tusSha256Checksum: true } : {}),
        }
      : { protocol: 'plain' };
    return { decisive: answer.decisive, learned };
  },
  contradicts: (answer: ProtocolAnswer) =>
    answer.requestMethod.toUpperCase() === 'POST' && TUS_GONE_STATUSES.has(answer.response.statusCode),
  // The checksum extension found by the probe: each PATCH then carries Upload-Checksum.
  adoptEndpoint: (learned, extras) =>
    learned.tusSha256Checksum && !extras.tusSha256Checksum ? { ...extras, tusSha256Checksum: true } : undefined,
};
