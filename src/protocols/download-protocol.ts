/**
 * The download seam: what the engine's download attempts use of the protocol code. Downloads have two
 * protocols (HTTP GET with ranges, FTP RETR with REST), each with its own attempt in the engine, so this
 * is a plain list of exports rather than a registry; the layer check lets the engine import protocols
 * only through this file, upload-protocol.ts and registry.ts.
 */

export {
  downloadFtp,
  FTP_DOWNLOAD_SCHEMES,
  type FtpDownloadResult,
  type FtpDownloadStart,
} from './ftp/ftp-download-entry.ts';
export { checkDigest, digestParts, promisedDigest, verifyFileDigest } from './http/download-digest.ts';
export { type DownloadPlan, downloadHttp, validatorOf } from './http/download-request.ts';
export type { ChunkHash } from './http/exchange-types.ts';
export { findHeader } from './http/header-pairs.ts';
export { requestMessage } from './http/request-messages.ts';
