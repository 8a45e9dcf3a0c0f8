import type { FTPContext } from 'basic-ftp';
import { TransferError } from '../../core/errors.ts';
import type { FtpDownloadInput, FtpDownloadResult, FtpDownloadStart } from './ftp-download-types.ts';
import { ftpReplyCode, isNotImplementedReply } from './ftp-errors.ts';
import { FtpSession } from './ftp-session.ts';
import { type FtpLocation, resolveFtpLocation } from './ftp-target.ts';
import { PartialWriter } from './partial-writer.ts';

/**
 * One attempt of an FTP or FTPS download into the partial file (docs/downloads.md, "FTP"): log in, enter
 * the directories of the path, ask SIZE and MDTM, then RETR, continuing with `REST <offset>` when the
 * size and modification time are still those the partial bytes came with. Rejects with a coded
 * TransferError, or with `input.signal.reason` when aborted.
 */
export async function downloadFtp(input: FtpDownloadInput): Promise<FtpDownloadResult> {
  input.signal.throwIfAborted();
  const location = resolveFtpLocation(input.url, input.credentials);
  return await new FtpDownloadAttempt(input, location).run();
}

/** A 5xx reply other than 530 (login): the server refused the command for good. */
function isPermanentReply(error: unknown): boolean {
  const reply = ftpReplyCode(error);
  return reply !== undefined && reply >= 500 && reply !== 530;
}

/** What the server says of the file before a byte is fetched. */
interface RemoteFile {
  size: number | null;
  validator: string | null;
}

class FtpDownloadAttempt {
  readonly #input: FtpDownloadInput;
  readonly #session: FtpSession;
  /** When > 0, `REST <n>` goes out right before RETR. */
  #restAt = 0;
  /** The server answered REST with "not implemented". */
  #restRefused = false;

  constructor(input: FtpDownloadInput, location: FtpLocation) {
    this.#input = input;
    this.#session = new FtpSession(location, input);
    this.#session.beforeTransfer = (ftp) => this.#sendRest(ftp);
  }

  run(): Promise<FtpDownloadResult> {
    return this.#session.run(async () => {
      await this.#session.enterDirectories(false);
      const remote = await this.#inspect();
      const start = this.#plan(remote);
      if (start.from > 0 && start.from === remote.size) {
        // Every byte was on disk already (the last attempt ended between the last byte and the end).
        this.#announce(start);
        return { from: start.from, bytesWritten: 0, total: remote.size };
      }
      try {
        return await this.#retrieve(start);
      } catch (error) {
        if (isPermanentReply(error)) await this.#refuseDirectory();
        if (start.from === 0 || !this.#restRefused) throw error;
      }
      const restart = { ...start, from: 0, restartReason: 'the server does not implement REST' };
      return await this.#retrieve(restart);
    });
  }

  /** SIZE and MDTM. */
  async #inspect(): Promise<RemoteFile> {
    const size = await this.#session.remoteSize();
    if (typeof size === 'number' && (!Number.isSafeInteger(size) || size < 0)) {
      const { fileName, display } = this.#session.target;
      throw new TransferError(
        'BT_ERR_INVALID_RESPONSE',
        `FTP SIZE ${fileName} at ${display}: the server answered an impossible size (${size})`,
      );
    }
    const modified = await this.#modified();
    const known = typeof size === 'number' ? size : null;
    const validator = known === null && modified === null ? null : `size ${known ?? '?'}, modified ${modified ?? '?'}`;
    return { size: known, validator };
  }

  /**
   * RETR was refused: servers say "failed to open file" (vsftpd) or "cannot read a directory" (ftp-srv)
   * when the path is a directory. Say so plainly when CWD into it works; else the refusal stands.
   */
  async #refuseDirectory(): Promise<void> {
    const { fileName, display } = this.#session.target;
    const refused = this.#session.step;
    this.#session.step = `CWD ${fileName}`;
    const answer = await this.#session.client.sendIgnoringError(
      `CWD ${await this.#session.client.protectWhitespace(fileName)}`,
    );
    this.#session.step = refused;
    if (answer.code >= 200 && answer.code < 300) {
      throw new TransferError('BT_ERR_FTP_PERMANENT', `FTP RETR at ${display}: ${fileName} is a directory, not a file`);
    }
  }

  /** MDTM's timestamp as the server wrote it (`YYYYMMDDhhmmss[.sss]`), or null when it has none. */
  async #modified(): Promise<string | null> {
    const { fileName } = this.#session.target;
    this.#session.step = `MDTM ${fileName}`;
    try {
      const answer = await this.#session.client.send(`MDTM ${await this.#session.client.protectWhitespace(fileName)}`);
      const stamp = answer.message.slice(4).trim();
      return /^\d{14}(\.\d{1,6})?$/.test(stamp) ? stamp : null;
    } catch (error) {
      const reply = ftpReplyCode(error);
      if (reply === 550 || isNotImplementedReply(error)) return null;
      throw error;
    }
  }

  /** Continue from `offset` only when size and modification time are still those the bytes came with. */
  #plan(remote: RemoteFile): FtpDownloadStart {
    const { offset, validator } = this.#input;
    const fresh = { from: 0, total: remote.size, validator: remote.validator, restartReason: null };
    if (offset === 0) return fresh;
    if (remote.validator === null) return { ...fresh, restartReason: 'the server implements neither SIZE nor MDTM' };
    if (validator === null) return { ...fresh, restartReason: 'nothing vouches for the bytes on disk' };
    if (validator !== remote.validator) {
      return { ...fresh, restartReason: `the file changed on the server (${validator}; now ${remote.validator})` };
    }
    if (remote.size !== null && offset > remote.size) {
      return { ...fresh, restartReason: `the partial file holds ${offset} bytes, more than the file's ${remote.size}` };
    }
    return { ...fresh, from: offset };
  }

  #announce(start: FtpDownloadStart): void {
    this.#session.guard(() => this.#input.onStart(start));
  }

  /** RETR (after `REST from` when from > 0) into the partial file; checks the byte count against SIZE. */
  async #retrieve(start: FtpDownloadStart): Promise<FtpDownloadResult> {
    const { fileName, display } = this.#session.target;
    this.#announce(start);
    const hash = this.#input.hashFor?.(start.from === 0) ?? null;
    const writer = new PartialWriter(this.#input.partialPath, start.from === 0 ? undefined : start.from, hash);
    this.#restAt = start.from;
    this.#session.step = start.from > 0 ? `REST ${start.from} + RETR ${fileName}` : `RETR ${fileName}`;
    try {
      await this.#session.client.downloadTo(writer, fileName);
    } catch (error) {
      // The bytes that arrived stay in the partial file; the error names how many.
      const end = start.from + writer.written;
      if (end > 0) this.#session.step = `${this.#session.step} (after ${end} bytes)`;
      throw error;
    } finally {
      this.#restAt = 0;
      await writer.settle();
    }
    const end = start.from + writer.written;
    if (start.total !== null && end < start.total) {
      throw new TransferError(
        'BT_ERR_CONNECTION_ABORTED',
        `FTP RETR ${fileName} at ${display}: the data connection ended at ${end} of ${start.total} bytes`,
      );
    }
    if (start.total !== null && end > start.total) {
      // More than SIZE: the file grew while it was sent, or the server ignored REST and sent it from 0.
      throw new TransferError(
        'BT_ERR_INVALID_RESPONSE',
        `FTP RETR ${fileName} at ${display}: the server sent ${end - start.from} bytes from byte ${start.from}, past the ${start.total} bytes SIZE reported`,
      );
    }
    return { from: start.from, bytesWritten: writer.written, total: start.total };
  }

  async #sendRest(ftp: FTPContext): Promise<void> {
    if (this.#restAt <= 0) return;
    try {
      await ftp.request(`REST ${this.#restAt}`);
    } catch (error) {
      this.#restRefused = isNotImplementedReply(error);
      throw error;
    }
  }
}
