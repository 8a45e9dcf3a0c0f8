import type { FtpDownloadInput, FtpDownloadResult } from './ftp-download-types.ts';

export type { FtpDownloadInput, FtpDownloadResult, FtpDownloadStart } from './ftp-download-types.ts';

/** The URL schemes FTP downloads serve. */
export const FTP_DOWNLOAD_SCHEMES: readonly string[] = ['ftp:', 'ftps:'];

/** An FTP or FTPS download attempt (ftp-download.ts), loaded only when one runs, like FTP uploads. */
export async function downloadFtp(input: FtpDownloadInput): Promise<FtpDownloadResult> {
  // basic-ftp costs ~12 MB of memory a host that never meets an FTP URL does not need.
  const { downloadFtp: run } = await import('./ftp-download.ts');
  return await run(input);
}
