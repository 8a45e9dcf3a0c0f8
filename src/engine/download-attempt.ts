import { FTP_DOWNLOAD_SCHEMES } from '../protocols/download-protocol.ts';
import type { AttemptContext, AttemptOutcome } from './run-attempt.ts';
import { runDownload } from './run-download.ts';
import { runFtpDownload } from './run-ftp-download.ts';

/** One attempt of a download, by the scheme of its URI now (an app may set a new `requestedUri`). */
export function runDownloadAttempt(context: AttemptContext): Promise<AttemptOutcome> {
  const scheme = new URL(context.live.record.requestedUri).protocol;
  return FTP_DOWNLOAD_SCHEMES.includes(scheme) ? runFtpDownload(context) : runDownload(context);
}
