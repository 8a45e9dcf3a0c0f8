import type { BodySource } from '../../source/body-source.ts';

/** The FTP commands an upload can store with (beyond Windows R7, which has HTTP(S) only). */
export type FtpStoreCommand = 'STOR' | 'APPE';

export interface FtpCredentials {
  userName: string;
  password: string;
}

/**
 * One attempt of an FTP or FTPS upload: one control connection, one data connection per transfer.
 *
 * `ftps://` means **explicit** FTPS (RFC 4217): plain TCP to the control port (default 21), then
 * `AUTH TLS`, `PBSZ 0`, `PROT P`, so the login and every data connection are encrypted. Implicit FTPS
 * (TLS from the first byte, port 990) is a pre-RFC practice that few servers still require; explicit
 * is what vsftpd, ProFTPD, pure-ftpd and FileZilla Server speak on their normal port.
 */
export interface FtpUploadInput {
  /** `ftp://host[:port]/dir/…/file` or `ftps://…`. The path is relative to the login directory (RFC 1738 §3.2.2). */
  url: URL;
  /**
   * 'STOR' (default) replaces the remote file with the body. 'APPE' appends the body to the remote
   * file (created if missing); the final size check then expects `appendBase + body.size`.
   */
  method: string;
  /** null → the user and password in the URL, else `anonymous`. */
  credentials: FtpCredentials | null;
  body: BodySource;
  /** Aborting closes both connections and rejects with `signal.reason` as it is. */
  signal: AbortSignal;
  /** TCP connect + TLS + login must finish within this (R47) → else BT_ERR_TIMEOUT. */
  connectTimeoutMs: number;
  /**
   * Body bytes queued that the server does not take for this long → BT_ERR_STALLED; no reply to a
   * command for this long → BT_ERR_TIMEOUT. Only time spent waiting for the server counts, not time
   * the body source takes (basic-ftp's transfer watchdog). 0 disables both.
   */
  stallTimeoutMs: number;
  /** PEM certificates trusted for `ftps://` in addition to Node's root store. */
  extraCaCertificates: string[];
  /**
   * true on a retry: ask the server how much of the file it has (SIZE) and send only the rest
   * (APPE, or REST + STOR when APPE is not implemented). When that is impossible the attempt starts
   * over from byte 0 with STOR and says so in `restarted` / `restartReason`.
   */
  resume: boolean;
  /**
   * APPE only, on a resume: the remote file's size before the first attempt appended anything, as
   * reported by `onAppendBase`. Without it an interrupted APPE cannot be resumed (SIZE alone cannot
   * tell old content from ours) and the attempt fails with BT_ERR_FTP_PERMANENT.
   */
  appendBase?: number | undefined;
  /** APPE only: the remote size before this upload appended anything (persist it for `appendBase`). */
  onAppendBase?(remoteSize: number): void;
  /** Body bytes the server acknowledged having: the resume offset before sending, the final size after. */
  onOffset(offset: number): void;
  /** Body bytes handed to the data connection, as an absolute offset in the body (at most every ~50 ms). */
  onBytesSent(absolute: number): void;
  /**
   * A resume starts over from byte 0 (`restartReason` says why), called before that send begins, so
   * the restart shows in the progress of the request that makes it (R38), not only in the result.
   */
  onRestart?(reason: string): void;
}

/** FTP has no response to keep (R43 does not apply): the engine records no ResponseInformation. */
export interface FtpUploadResult {
  /** Body bytes the server has at the end (equals `body.size` on success). */
  bytesStored: number;
  /** Body offset this attempt started sending from (0 unless it resumed). */
  startOffset: number;
  /** Body bytes this attempt sent (`body.size - startOffset` on success). */
  bytesSent: number;
  /** true when a resume had to start over from byte 0; `restartReason` says why. */
  restarted: boolean;
  restartReason: string | null;
  /** false when the server does not implement SIZE, so the final size could not be checked. */
  sizeVerified: boolean;
  /** APPE only: the remote size the body was appended to; null for STOR. */
  appendBase: number | null;
}
