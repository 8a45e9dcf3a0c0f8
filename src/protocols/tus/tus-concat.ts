import { TransferError } from '../../core/errors.ts';
import type { BodySource } from '../../source/body-source.ts';
import type { HttpUploadResult } from '../http/http-upload-types.ts';
import { ServerAuth } from '../http/server-auth.ts';
import { createUpload } from './tus-creation.ts';
import { ExpiryTracker } from './tus-expires.ts';
import { tusHeaders } from './tus-protocol.ts';
import { uploadOne } from './tus-single.ts';
import type { TusPart, TusUploadInput } from './tus-types.ts';

/**
 * Smallest part worth its own upload: below it, the extra creations and the final request cost more
 * than a second connection gains. A body under `parallelUploads` × this goes with fewer parts (or one
 * upload).
 */
export const MIN_PART_BYTES = 1024 * 1024;

/** A part the server forgot is created again this many times in one attempt, then the attempt fails. */
const MAX_PART_RECREATIONS = 2;

/** `count` parts of nearly equal size covering the body, or null when the body is too small for two. */
export function planParts(size: number, count: number): TusPart[] | null {
  const parts = Math.min(Math.floor(count), Math.floor(size / MIN_PART_BYTES));
  if (parts < 2) return null;
  const each = Math.ceil(size / parts);
  const planned: TusPart[] = [];
  for (let start = 0; start < size; start += each) {
    planned.push({ start, end: Math.min(size, start + each), uploadUrl: null, offset: 0 });
  }
  return planned;
}

/** Bytes [start, end) of a body, as a body of their own (a partial upload's content). */
function sliceBody(body: BodySource, start: number, end: number): BodySource {
  const size = end - start;
  return { size, read: (from, to) => body.read(start + from, start + (to ?? size)) };
}

/**
 * Concatenation extension: each part is a partial upload (`Upload-Concat: partial`) sent over its own
 * request at the same time as the others, each created, resumed (HEAD) and acknowledged on its own;
 * every change is stored through `onParts`, so a later attempt or process continues each part where
 * the server has it. A part the server no longer knows (404/410, or its Upload-Expires passed) is
 * created again alone. Then one POST with `Upload-Concat: final;<urls>` makes the upload, and its
 * answer is the upload's answer. Progress is the sum of the parts'.
 */
export async function uploadConcatenated(
  input: TusUploadInput,
  planned: readonly TusPart[],
): Promise<HttpUploadResult> {
  const parts = planned.map((part) => ({ ...part }));
  const sent = parts.map((part) => part.offset);
  const persist = () => input.onParts?.(parts.map((part) => ({ ...part })));
  const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);
  persist();
  input.onOffset(sum(parts.map((part) => part.offset)));
  input.onBytesSent(sum(sent));

  // One part failing stops the others: the attempt is over, and its error is the first one.
  const controller = new AbortController();
  const stopAll = () => controller.abort(input.signal.reason);
  input.signal.addEventListener('abort', stopAll, { once: true });
  let failure: HttpUploadResult | null = null;
  let firstError: unknown;
  const runPart = async (index: number): Promise<void> => {
    const part = parts[index]!;
    for (let recreations = 0; ; recreations += 1) {
      const partInput: TusUploadInput = {
        ...input,
        body: sliceBody(input.body, part.start, part.end),
        session: part.uploadUrl === null ? null : { uploadUrl: part.uploadUrl, expiresAtMs: part.expiresAtMs ?? null },
        acknowledgedOffset: part.offset,
        signal: controller.signal,
        parts: null,
        parallelUploads: 1,
        onSession(uploadUrl, expiresAtMs) {
          part.uploadUrl = uploadUrl;
          part.expiresAtMs = expiresAtMs ?? null;
          persist();
        },
        onOffset(offset) {
          part.offset = offset;
          sent[index] = offset;
          persist();
          input.onOffset(sum(parts.map((candidate) => candidate.offset)));
        },
        onBytesSent(bytes) {
          sent[index] = bytes;
          input.onBytesSent(sum(sent));
        },
        // A part's completion is bookkeeping; only an error answer is the attempt's answer.
        onResponse(response, totalBytesToReceive) {
          if (response.statusCode < 200 || response.statusCode >= 300) input.onResponse(response, totalBytesToReceive);
        },
      };
      try {
        const result = await uploadOne(partInput, 'partial');
        const status = result.response.statusCode;
        if (status < 200 || status >= 300) {
          failure ??= result;
          controller.abort(new Error('another part of the upload failed'));
        }
        return;
      } catch (error) {
        const lost = error instanceof TransferError && error.code === 'BT_ERR_RESUME_LOST';
        if (!lost || recreations >= MAX_PART_RECREATIONS || controller.signal.aborted) throw error;
        // The server forgot this part: create it again; the other parts keep what they have.
        part.uploadUrl = null;
        part.offset = 0;
        part.expiresAtMs = null;
        sent[index] = 0;
        persist();
        input.onOffset(sum(parts.map((candidate) => candidate.offset)));
      }
    }
  };
  try {
    await Promise.all(
      parts.map((_, index) =>
        runPart(index).catch((error: unknown) => {
          if (firstError === undefined && !controller.signal.aborted) firstError = error;
          controller.abort(error);
        }),
      ),
    );
  } finally {
    input.signal.removeEventListener('abort', stopAll);
  }
  input.signal.throwIfAborted();
  if (failure !== null) return failure;
  if (firstError !== undefined) throw firstError;
  return finish(input, parts);
}

/** The final creation: `Upload-Concat: final;<url> <url> …`, in body order. Its answer is the upload's. */
async function finish(input: TusUploadInput, parts: readonly TusPart[]): Promise<HttpUploadResult> {
  const urls = parts.map((part) => part.uploadUrl ?? '');
  const auth = ServerAuth.create(input.credentials, input.endpoint);
  const creation = await createUpload(
    input,
    tusHeaders(input.headers),
    auth,
    new ExpiryTracker(null, () => {}),
    `final;${urls.join(' ')}`,
  );
  if ('final' in creation) return creation.final;
  // isFinal holds for every answer to the final creation; this is only for the type.
  throw new TransferError('BT_ERR_INVALID_RESPONSE', 'the final concatenation got no answer');
}
