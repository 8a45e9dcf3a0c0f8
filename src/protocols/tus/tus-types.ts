import type { ResumableUploadInput } from '../http/resumable-types.ts';

/**
 * One partial upload of the concatenation extension: bytes [start, end) of the body, its upload URL
 * once created, and the offset (within the part) the server acknowledged. Stored with the operation
 * so that each part resumes on its own.
 */
export interface TusPart {
  start: number;
  end: number;
  uploadUrl: string | null;
  offset: number;
  /** The part's Upload-Expires, ms since the epoch, when the server named one. */
  expiresAtMs?: number | null;
}

export interface TusUploadInput extends ResumableUploadInput {
  /** Upload-Metadata (creation extension), e.g. `{ filename: 'a.bin' }`; values are sent base64-encoded. */
  metadata: Readonly<Record<string, string>>;
  /**
   * Largest PATCH body; absent = one PATCH for the rest. For servers or proxies that limit request
   * sizes (a 413 on PATCH); each chunk's acknowledged offset is reported through onOffset.
   */
  chunkSizeBytes?: number;
  /**
   * The server checks `Upload-Checksum: sha256 <base64>` (checksum extension, learnt from OPTIONS):
   * each PATCH carries the SHA-256 of its body (read once before it is sent), and a 460 (checksum
   * mismatch: the server stored nothing) sends that chunk again, not the whole file.
   */
  sha256Checksum?: boolean;
  /**
   * The server's `Tus-Extension` list when known (the endpoint was probed): creation-with-upload and
   * concatenation are used only where it names them. Absent: the core protocol and creation only,
   * unless `parallelUploads` asks for parts (then one OPTIONS finds out).
   */
  extensions?: readonly string[];
  /** tusParallelUploads: upload a large body as this many partial uploads at once (concatenation). */
  parallelUploads?: number;
  /** The partial uploads of an earlier attempt (stored with the operation): they resume. */
  parts?: readonly TusPart[] | null;
  /** The parts changed (a part created, recreated or acknowledged): store them durably. */
  onParts?(parts: readonly TusPart[]): void;
}
