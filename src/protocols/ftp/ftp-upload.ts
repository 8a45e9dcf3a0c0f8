import { Readable } from 'node:stream';
import { type ConnectionOptions, rootCertificates } from 'node:tls';
import { Client, enterPassiveModeIPv6, type FTPContext, FTPError, type FTPResponse } from 'basic-ftp';
import { TransferError, toTransferError } from '../../core/errors.ts';
import { ProgressThrottle } from '../http/progress-throttle.ts';
import { ftpReplyCode, isNotImplementedReply, mapFtpError } from './ftp-errors.ts';
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

/** SIZE's answer: a byte count, 'missing' (550), or 'unsupported' (500/501/502/504). */
type RemoteSize = number | 'missing' | 'unsupported';

class FtpUploadAttempt {
  readonly #input: FtpUploadInput;
  readonly #target: FtpTarget;
  readonly #client: Client;
  readonly #progress: ProgressThrottle;
  /** Set by abort, the connect timer or a throwing callback: the error the attempt rejects with. */
  #failure: { reason: unknown } | null = null;
  /** What the attempt was doing, for error messages ("login", "STOR big.bin", …). */
  #step = 'connect';
  /** When > 0, the data-connection strategy sends `REST <n>` right before the transfer command. */
  #restAt = 0;
  /** The server answered REST with "not implemented". */
  #restRefused = false;
  #bytesSent = 0;
  /** The passive mode that worked on this server (EPSV unless it refused it). */
  #passiveMode: ((ftp: FTPContext) => Promise<FTPResponse>) | null = null;

  constructor(input: FtpUploadInput, target: FtpTarget) {
    this.#input = input;
    this.#target = target;
    // basic-ftp's timeout covers a reply to each command and, during a transfer, its watchdog:
    // body bytes queued that the server does not take for that long. That is our stall timeout.
    this.#client = new Client(Math.max(0, input.stallTimeoutMs));
    this.#progress = new ProgressThrottle((value) => this.#guard(() => input.onBytesSent(value)));
    const libraryStrategy = this.#client.prepareTransfer;
    this.#client.prepareTransfer = (ftp) => this.#openDataConnection(ftp, libraryStrategy);
  }

  async run(): Promise<FtpUploadResult> {
    const { signal } = this.#input;
    const onAbort = (): void => this.#fail(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await this.#open();
      await this.#enterDirectories();
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
    } catch (error) {
      if (this.#failure !== null) throw this.#failure.reason;
      throw mapFtpError(error, this.#step, this.#target.secrets, this.#target.display);
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#progress.cancel();
      this.#client.close();
    }
  }

  /** Ends the attempt with `reason`: closes both connections, so whatever basic-ftp awaits rejects. */
  #fail(reason: unknown): void {
    if (this.#failure !== null) return;
    this.#failure = { reason };
    this.#client.ftp.closeWithError(reason instanceof Error ? reason : new Error(String(reason)));
  }

  /** Runs a caller callback; a throwing callback is a bug, reported as BT_ERR_INTERNAL. */
  #guard(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.#fail(toTransferError(error));
    }
  }

  /** Connect, AUTH TLS for ftps, log in, binary mode: all within connectTimeoutMs (R47). */
  async #open(): Promise<void> {
    const { host, port, secure, user, password, display } = this.#target;
    const limit = this.#input.connectTimeoutMs;
    const timer =
      limit > 0
        ? setTimeout(() => {
            const message = `no FTP session with ${display} within ${limit} ms (${this.#step})`;
            this.#fail(new TransferError('BT_ERR_TIMEOUT', message));
          }, limit)
        : undefined;
    try {
      this.#step = `connect to ${host}:${port}`;
      await this.#client.connect(host, port);
      if (secure) {
        this.#step = 'AUTH TLS';
        await this.#client.useTLS(this.#tlsOptions());
      }
      // As basic-ftp's access(): before login, so a non-ASCII user name or password arrives as UTF-8.
      await this.#client.sendIgnoringError('OPTS UTF8 ON');
      this.#step = `login as ${user}`;
      await this.#client.login(user, password);
      // TYPE I (binary), STRU F, and for FTPS: PBSZ 0, PROT P (data connections encrypted too).
      this.#step = 'session setup (TYPE I)';
      await this.#client.useDefaultSettings();
    } finally {
      clearTimeout(timer);
    }
  }

  #tlsOptions(): ConnectionOptions {
    const extra = this.#input.extraCaCertificates;
    // `host` is what the certificate is checked against; basic-ftp reuses these options (and the TLS
    // session) for every data connection. `ca` replaces Node's store, so the roots are kept.
    const options: ConnectionOptions = { host: this.#target.host };
    if (extra.length > 0) options.ca = [...rootCertificates, ...extra];
    return options;
  }

  /** CWD into each directory of the path, creating the ones that do not exist yet. */
  async #enterDirectories(): Promise<void> {
    for (const directory of this.#target.directories) {
      this.#step = `CWD ${directory}`;
      try {
        await this.#client.cd(directory);
        continue;
      } catch (error) {
        // 550 is the usual "no such directory"; any other permanent refusal may mean the same.
        const reply = ftpReplyCode(error);
        if (reply === undefined || reply < 500 || reply === 530) throw error;
      }
      this.#step = `MKD ${directory}`;
      const made = await this.#client.sendIgnoringError(`MKD ${await this.#client.protectWhitespace(directory)}`);
      this.#step = `CWD ${directory}`;
      try {
        await this.#client.cd(directory);
      } catch (error) {
        // A refused MKD ("permission denied") says more than the CWD that then failed. If another
        // client created the directory meanwhile, MKD failed but CWD works: no error at all.
        if (made.code >= 400) throw new FTPError(made);
        throw error;
      }
    }
  }

  async #plan(): Promise<SendPlan> {
    if (this.#target.command === 'APPE') return this.#planAppend();
    const { body, resume, onOffset } = this.#input;
    const fresh: SendPlan = { start: 0, command: 'STOR', complete: false, restartReason: null, appendBase: null };
    if (!resume) return fresh;

    const remote = await this.#remoteSize();
    if (typeof remote === 'number' && remote > 0 && remote <= body.size) {
      this.#guard(() => onOffset(remote));
      return { ...fresh, start: remote, command: 'APPE', complete: remote === body.size };
    }
    this.#guard(() => onOffset(0));
    if (remote === 'unsupported') return { ...fresh, restartReason: 'the server does not implement SIZE' };
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
    const remote = await this.#remoteSize();
    if (!resume) {
      const base = remote === 'missing' ? 0 : remote === 'unsupported' ? null : remote;
      if (base !== null && onAppendBase !== undefined) this.#guard(() => onAppendBase(base));
      this.#guard(() => onOffset(0));
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
    this.#guard(() => onOffset(held));
    return { start: held, command: 'APPE', complete: held === body.size, restartReason: null, appendBase };
  }

  async #remoteSize(): Promise<RemoteSize> {
    this.#step = `SIZE ${this.#target.fileName}`;
    try {
      return await this.#client.size(this.#target.fileName);
    } catch (error) {
      if (ftpReplyCode(error) === 550) return 'missing';
      if (isNotImplementedReply(error)) return 'unsupported';
      throw error;
    }
  }

  #announceRestart(plan: SendPlan): void {
    const reason = plan.restartReason;
    if (reason !== null) this.#guard(() => this.#input.onRestart?.(reason));
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
    this.#guard(() => this.#input.onOffset(0));
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
        this.#step = `APPE ${name} (from byte ${start})`;
        await this.#client.appendFrom(source, name);
      } else {
        this.#restAt = command === 'REST' ? start : 0;
        this.#step = command === 'REST' ? `REST ${start} + STOR ${name}` : `STOR ${name}`;
        await this.#client.uploadFrom(source, name);
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

  /**
   * basic-ftp's prepareTransfer hook. EPSV first, as basic-ftp does, but called directly so that a
   * failed data connection keeps its socket error code (basic-ftp's strategy search turns it into a
   * string). A server that refuses EPSV gets basic-ftp's own search, which then settles on PASV to the
   * control connection's host (never to a host the server names: that would allow FTP bounce).
   */
  async #openDataConnection(
    ftp: FTPContext,
    libraryStrategy: (ftp: FTPContext) => Promise<FTPResponse>,
  ): Promise<FTPResponse> {
    let response: FTPResponse;
    if (this.#passiveMode !== null) {
      response = await this.#passiveMode(ftp);
    } else {
      try {
        response = await enterPassiveModeIPv6(ftp);
        this.#passiveMode = enterPassiveModeIPv6;
      } catch (error) {
        if (!(error instanceof FTPError)) throw error;
        response = await libraryStrategy(ftp);
        // The search stored the winner in client.prepareTransfer, replacing this hook: keep the
        // winner for later transfers and put the hook back.
        this.#passiveMode = this.#client.prepareTransfer;
        this.#client.prepareTransfer = (next) => this.#openDataConnection(next, libraryStrategy);
      }
    }
    // REST must come right before STOR (RFC 959 §4.1.3), so after EPSV/PASV, not before.
    if (this.#restAt > 0) {
      this.#step = `REST ${this.#restAt}`;
      try {
        await ftp.request(`REST ${this.#restAt}`);
      } catch (error) {
        this.#restRefused = isNotImplementedReply(error);
        throw error;
      }
      this.#step = `STOR ${this.#target.fileName} (from byte ${this.#restAt})`;
    }
    return response;
  }

  /** SIZE after the transfer must equal what the server should now hold. */
  async #verify(plan: SendPlan): Promise<boolean> {
    const { body, onOffset } = this.#input;
    if (this.#target.command === 'APPE' && plan.appendBase === null) return false;
    const remote = await this.#remoteSize();
    if (remote === 'unsupported') return false;
    const expected = (plan.appendBase ?? 0) + body.size;
    if (remote !== expected) {
      const found = remote === 'missing' ? 'no such file' : `${remote} bytes`;
      throw new TransferError(
        'BT_ERR_FTP',
        `after the upload the server reports ${found} for ${this.#target.display}, expected ${expected}`,
      );
    }
    this.#guard(() => onOffset(body.size));
    return true;
  }
}
