import type { ChunkHash } from '../http/exchange-types.ts';
import type { FtpSessionOptions } from './ftp-session.ts';
import type { FtpCredentials } from './ftp-upload-types.ts';

/**
 * One attempt of an FTP or FTPS download (`ftps://` is explicit FTPS, as for uploads): one control
 * connection, one data connection for RETR, the bytes written into the partial file.
 */
export interface FtpDownloadInput extends FtpSessionOptions {
  /** `ftp://host[:port]/dir/…/file` or `ftps://…`; the path is relative to the login directory (RFC 1738). */
  url: URL;
  /** null → the user and password in the URL, else `anonymous`. */
  credentials: FtpCredentials | null;
  /** Bytes of the partial file that are trusted (fsynced); > 0 asks to continue from there. */
  offset: number;
  /** The `validator` of the start the partial bytes came from (SIZE and MDTM then), or null. */
  validator: string | null;
  partialPath: string;
  /** Where this attempt writes from and what the server reports; called before a byte is written. */
  onStart(start: FtpDownloadStart): void;
  /** What the bytes are hashed with as the file takes them (`fromStart`: written from byte 0). */
  hashFor?(fromStart: boolean): ChunkHash | null;
}

export interface FtpDownloadStart {
  /** 0, or `offset` when the download continues. */
  from: number;
  /** The file's size from SIZE; null when the server does not implement it. */
  total: number | null;
  /** SIZE and MDTM as one string: what a later attempt must find unchanged to continue; null if neither. */
  validator: string | null;
  /** Set when the partial file had bytes (`offset` > 0) but starts over from 0: why. */
  restartReason: string | null;
}

/** The file is whole in the partial file: `from + bytesWritten` bytes (equal to `total` when known). */
export interface FtpDownloadResult {
  from: number;
  bytesWritten: number;
  total: number | null;
}
