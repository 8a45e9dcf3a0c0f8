/**
 * The download seam: what the engine's download attempts use of the HTTP protocol code. Downloads have
 * one protocol (HTTP GET with ranges), so this is a plain list of exports rather than a registry; the
 * layer check lets the engine import protocols only through this file, upload-protocol.ts and registry.ts.
 */
export { checkDigest, digestParts, promisedDigest, verifyFileDigest } from './http/download-digest.ts';
export { type DownloadPlan, downloadHttp, validatorOf } from './http/download-request.ts';
export type { ChunkHash } from './http/exchange-types.ts';
export { findHeader } from './http/header-pairs.ts';
export { requestMessage } from './http/request-messages.ts';
