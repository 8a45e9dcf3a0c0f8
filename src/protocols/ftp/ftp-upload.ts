import { Readable } from 'node:stream';
import type { FTPContext } from 'basic-ftp';
import { TransferError } from '../../core/errors.ts';
import { ProgressThrottle } from '../http/progress-throttle.ts';
import { isNotImplementedReply } from './ftp-errors.ts';
import { FtpSession } from './ftp-session.ts';
import { type FtpTarget, resolveFtpTarget } from './ftp-target.ts';
import type { FtpUploadInput, FtpUploadResult } from './ftp-upload-types.ts';

export type { FtpCredentials, FtpStoreCommand, FtpUploadInput, FtpUploadResult } from './ftp-upload-types.ts';

/**
 * Uploads `input.body` to an `ftp://` or `ftps://` (explicit TLS) URL with basic-ftp: log in, enter
 * (creating) the directories of the path, binary mode, STOR or APPE over a passive data connection,
 * then check with SIZE that the server has every byte. With `resume` it first asks SIZE and sends
 * only the rest. Rejects with a TransferError, or with `input.signal.reason` when aborted.
 */
export async function uploadFtp(input: FtpUploadInput): Promise<FtpUploadResult> {
  input.signal.throwIfAborted();
  const target = resolveFtpTarget(input.url, input.method, input.credentials);
  return await new FtpUploadAttempt(input, target).run();
}

/** How this attempt sends the body. */
interface SendPlan {
  start: number;
  /** 'REST' = REST <start> then STOR: for servers that do not implement APPE. */
  command: 'STOR' | 'APPE' | 'REST';
  /** A resume found the server already holding every byte: nothing left to send. */
  complete: boolean;
  restartReason: string | null;
  appendBase: number | null;
}

class FtpUploadAttempt {
  readonly #input: FtpUploadInput;
  readonly #target: FtpTarget;
  readonly #session: FtpSession;
  readonly #progress: ProgressThrottle;
  /** When > 0, the data-connection strategy sends `REST <n>` right before the transfer command. */
  #restAt = 0;
  /** The server answered REST with "not implemented". */
  #restRefused = false;
  #bytesSent = 0;

  constructor(input: FtpUploadInput, target: FtpTarget) {
    this.#input = input;
    this.#target = target;
    // The session's watchdog is the stall timeout: body bytes queued that the server does not take.
    this.#session = new FtpSession(target, input);
    this.#session.beforeTransfer = (ftp) => this.#sendRest(ftp);
    this.#progress = new ProgressThrottle((value) => this.#session.guard(() => input.onBytesSent(value)));
  }

  async run(): Promise<FtpUploadResult> {
    try {
      return await this.#session.run(async () => {
        await this.#session.enterDirectories(true);
        const plan = await this.#plan();
        this.#announceRestart(plan);
        if (!plan.complete) await this.#send(plan);
        else this.#progress.flush(this.#input.body.size);
        const sizeVerified = await this.#verify(plan);
        return {
          bytesStored: this.#input.body.size,
          startOffset: plan.start,
          bytesSent: this.#bytesSent,
          restarted: plan.restartReason !== null,
          restartReason: plan.restartReason,
          sizeVerified,
          appendBase: plan.appendBase,
        };
      });
    } finally {
      this.#progress.cancel();
    }
  }

  async #plan(): Promise<SendPlan> {
    if (this.#target.command === 'APPE') return this.#planAppend();
    const { body, resume, onOffset } = this.#input;
    const fresh: SendPlan = { start: 0, command: 'STOR', complete: false, restartReason: null, appendBase: null };
    if (!resume) return fresh;

    const remote = await this.#session.remoteSize();
    if (typeof remote === 'number' && remote > 0 && remote <= body.size) {
      this.#session.guard(() => onOffset(remote));
      return { ...fresh, start: remote, command: 'APPE', complete: remote === body.size };
    }
    this.#session.guard(() => onOffset(0));
    if (remote === 'unsupported') return { ...fresh, restartReason: "the server does not tell the file's SIZE" };
    // An earlier attempt stored part of the file (its STOR was under way): the server dropped it.
    if (remote === 'missing') return { ...fresh, restartReason: 'the server no longer has the partial file' };
    if (typeof remote === 'number' && remote > body.size) {
      return { ...fresh, restartReason: `the server has ${remote} bytes, more than the body's ${body.size}` };
    }
    return fresh;
  }

  /** APPE keeps what the remote file had: the body's bytes start at `appendBase`. */
  async #planAppend(): Promise<SendPlan> {
    const { body, resume, appendBase, onAppendBase, onOffset } = this.#input;
    const remote = await this.#session.remoteSize();
    if (!resume) {
      const base = remote === 'missing' ? 0 : remote === 'unsupported' ? null : remote;
      if (base !== null && onAppendBase !== undefined) this.#session.guard(() => onAppendBase(base));
      this.#session.guard(() => onOffset(0));
      return { start: 0, command: 'APPE', complete: false, restartReason: null, appendBase: base };
    }
    if (appendBase === undefined || remote === 'unsupported') {
      const why = appendBase === undefined ? 'its appendBase is unknown' : 'the server does not implement SIZE';
      throw new TransferError(
        'BT_ERR_FTP_PERMANENT',
        `an interrupted APPE to ${this.#target.display} cannot be resumed: ${why}`,
      );
    }
    const held = (remote === 'missing' ? 0 : remote) - appendBase;
    if (held < 0 || held > body.size) {
      throw new TransferError(
        'BT_ERR_FTP_PERMANENT',
        `an interrupted APPE to ${this.#target.display} cannot be resumed: the remote file has ` +
          `${remote === 'missing' ? 'gone' : `${remote} bytes`}, not between ${appendBase} and ${appendBase + body.size}`,
      );
    }
    this.#session.guard(() => onOffset(held));
    // As for STOR: an earlier attempt appended to a file of its own, and the server dropped it, so this
    // attempt starts over from byte 0 (R38: hasRestarted). A file still at appendBase is no restart.
    const restartReason = remote === 'missing' ? 'the server no longer has the partial file' : null;
    return { start: held, command: 'APPE', complete: held === body.size, restartReason, appendBase };
  }

  #announceRestart(plan: SendPlan): void {
    const reason = plan.restartReason;
    if (reason !== null) this.#session.guard(() => this.#input.onRestart?.(reason));
  }

  /** Sends the body from `plan.start`, falling back from APPE to REST+STOR to a restart at 0. */
  async #send(plan: SendPlan): Promise<void> {
    const resuming = plan.start > 0 && plan.appendBase === null;
    try {
      await this.#transfer(plan.command, plan.start);
      return;
    } catch (error) {
      if (!resuming || !isNotImplementedReply(error)) throw error;
    }
    try {
      plan.command = 'REST';
      await this.#transfer('REST', plan.start);
      return;
    } catch (error) {
      // Only a refused REST means "cannot resume"; a refused STOR is a real error.
      if (!this.#restRefused) throw error;
    }
    plan.restartReason = 'the server implements neither APPE nor REST for uploads';
    plan.start = 0;
    plan.command = 'STOR';
    this.#session.guard(() => this.#input.onOffset(0));
    this.#announceRestart(plan);
    await this.#transfer('STOR', 0);
  }

  async #transfer(command: SendPlan['command'], start: number): Promise<void> {
    const name = this.#target.fileName;
    this.#bytesSent = 0;
    this.#progress.flush(start);
    const source = Readable.from(this.#countedBody(start), { objectMode: false });
    try {
      if (command === 'APPE') {
        this.#session.step = `APPE ${name} (from byte ${start})`;
        await this.#session.client.appendFrom(source, name);
      } else {
        this.#restAt = command === 'REST' ? start : 0;
        this.#session.step = command === 'REST' ? `REST ${start} + STOR ${name}` : `STOR ${name}`;
        await this.#session.client.uploadFrom(source, name);
      }
      this.#progress.flush(start + this.#bytesSent);
    } catch (error) {
      this.#progress.flush(start + this.#bytesSent);
      throw error;
    } finally {
      this.#restAt = 0;
      // Closes the body's file handle when the server refused the command before reading anything.
      source.destroy();
    }
  }

  /** The body from `start`, counting bytes as the data connection pulls them. */
  async *#countedBody(start: number): AsyncGenerator<Uint8Array, void, undefined> {
    for await (const chunk of this.#input.body.read(start)) {
      this.#bytesSent += chunk.byteLength;
      this.#progress.update(start + this.#bytesSent);
      yield chunk;
    }
  }

  /** REST must come right before STOR (RFC 959 §4.1.3), so after EPSV/PASV, not before. */
  async #sendRest(ftp: FTPContext): Promise<void> {
    if (this.#restAt <= 0) return;
    this.#session.step = `REST ${this.#restAt}`;
    try {
      await ftp.request(`REST ${this.#restAt}`);
    } catch (error) {
      this.#restRefused = isNotImplementedReply(error);
      throw error;
    }
    this.#session.step = `STOR ${this.#target.fileName} (from byte ${this.#restAt})`;
  }

  /** SIZE after the transfer must equal what the server should now hold. */
  async #verify(plan: SendPlan): Promise<boolean> {
    const { body, onOffset } = this.#input;
    if (this.#target.command === 'APPE' && plan.appendBase === null) return false;
    const remote = await this.#session.remoteSize();
    if (remote === 'unsupported') return false;
    const expected = (plan.appendBase ?? 0) + body.size;
    if (remote !== expected) {
      const found = remote === 'missing' ? 'no such file' : `${remote} bytes`;
      throw new TransferError(
        'BT_ERR_FTP',
        `after the upload the server reports ${found} for ${this.#target.display}, expected ${expected}`,
      );
    }
    this.#session.guard(() => onOffset(body.size));
    return true;
  }
}
