import { type ConnectionOptions, rootCertificates } from 'node:tls';
import { Client, enterPassiveModeIPv6, type FTPContext, FTPError, type FTPResponse } from 'basic-ftp';
import { TransferError, toTransferError } from '../../core/errors.ts';
import { ftpReplyCode, isNotImplementedReply, mapFtpError } from './ftp-errors.ts';
import type { FtpLocation } from './ftp-target.ts';

/** What an FTP upload and an FTP download share about their connections. */
export interface FtpSessionOptions {
  /** Aborting closes both connections and the attempt rejects with `signal.reason` as it is. */
  signal: AbortSignal;
  /** TCP connect + TLS + login must finish within this (R47) → else BT_ERR_TIMEOUT. */
  connectTimeoutMs: number;
  /**
   * Data the other side does not take (upload) or send (download) for this long → BT_ERR_STALLED; no
   * reply to a command for this long → BT_ERR_TIMEOUT (basic-ftp's watchdog). 0 disables both.
   */
  stallTimeoutMs: number;
  /** PEM certificates trusted for `ftps://` in addition to Node's root store. */
  extraCaCertificates: string[];
}

/**
 * SIZE's answer: a byte count, 'missing' (550), or 'unsupported': 500/501/502/504, or a 213 that names
 * no number (ftp-srv answers "213 File status" for an empty file), which tells no more than a refusal.
 */
export type RemoteSize = number | 'missing' | 'unsupported';

/** "213 <size>", maybe followed by a comment ("213 5555, some commentary"); null when it names no size. */
export function sizeOfReply(message: string): number | null {
  const match = /^213[ -](\d+)/.exec(message);
  return match?.[1] === undefined ? null : Number(match[1]);
}

/**
 * One control connection to an FTP server, as an upload or a download attempt uses it: connect, AUTH
 * TLS for `ftps://`, log in, binary mode, all within connectTimeoutMs; passive data connections (EPSV,
 * else basic-ftp's PASV to the control connection's host); abort; and every error coded
 * (ftp-errors.ts) with the step it happened in and the password cut out.
 */
export class FtpSession {
  readonly client: Client;
  readonly target: FtpLocation;
  /** What the attempt is doing, for error messages ("login as bob", "RETR big.bin", …). */
  step = 'connect';
  /**
   * Sent on the control connection once the data connection is ready, right before the transfer
   * command (REST must come last before STOR or RETR, RFC 959 §4.1.3).
   */
  beforeTransfer: ((ftp: FTPContext) => Promise<void>) | null = null;
  readonly #options: FtpSessionOptions;
  /** Set by abort, the connect timer or a throwing callback: the error the attempt rejects with. */
  #failure: { reason: unknown } | null = null;
  /** The passive mode that worked on this server (EPSV unless it refused it). */
  #passiveMode: ((ftp: FTPContext) => Promise<FTPResponse>) | null = null;

  constructor(target: FtpLocation, options: FtpSessionOptions) {
    this.target = target;
    this.#options = options;
    // basic-ftp's timeout covers a reply to each command and, during a transfer, its watchdog.
    this.client = new Client(Math.max(0, options.stallTimeoutMs));
    const libraryStrategy = this.client.prepareTransfer;
    this.client.prepareTransfer = (ftp) => this.#openDataConnection(ftp, libraryStrategy);
  }

  /**
   * Opens the session, runs `work` in it and closes it. Rejects with a coded TransferError, or with the
   * abort reason or a `fail` reason as it is.
   */
  async run<T>(work: () => Promise<T>): Promise<T> {
    const { signal } = this.#options;
    signal.throwIfAborted();
    const onAbort = (): void => this.fail(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await this.#open();
      return await work();
    } catch (error) {
      if (this.#failure !== null) throw this.#failure.reason;
      throw mapFtpError(error, this.step, this.target.secrets, this.target.display);
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.client.close();
    }
  }

  /** Ends the attempt with `reason`: closes both connections, so whatever basic-ftp awaits rejects. */
  fail(reason: unknown): void {
    if (this.#failure !== null) return;
    this.#failure = { reason };
    this.client.ftp.closeWithError(reason instanceof Error ? reason : new Error(String(reason)));
  }

  /** Runs a caller callback; a throwing callback is a bug, reported as BT_ERR_INTERNAL. */
  guard(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.fail(toTransferError(error));
    }
  }

  /** CWD into each directory of the path; with `create`, the ones that do not exist yet are made. */
  async enterDirectories(create: boolean): Promise<void> {
    for (const directory of this.target.directories) {
      this.step = `CWD ${directory}`;
      if (!create) {
        await this.client.cd(directory);
        continue;
      }
      try {
        await this.client.cd(directory);
        continue;
      } catch (error) {
        // 550 is the usual "no such directory"; any other permanent refusal may mean the same.
        const reply = ftpReplyCode(error);
        if (reply === undefined || reply < 500 || reply === 530) throw error;
      }
      this.step = `MKD ${directory}`;
      const made = await this.client.sendIgnoringError(`MKD ${await this.client.protectWhitespace(directory)}`);
      this.step = `CWD ${directory}`;
      try {
        await this.client.cd(directory);
      } catch (error) {
        // A refused MKD ("permission denied") says more than the CWD that then failed. If another
        // client created the directory meanwhile, MKD failed but CWD works: no error at all.
        if (made.code >= 400) throw new FTPError(made);
        throw error;
      }
    }
  }

  /** SIZE of the target file. */
  async remoteSize(): Promise<RemoteSize> {
    this.step = `SIZE ${this.target.fileName}`;
    let reply: FTPResponse;
    try {
      // Sent and read here, not through basic-ftp's size(), which throws on a 213 without a number.
      reply = await this.client.send(`SIZE ${await this.client.protectWhitespace(this.target.fileName)}`);
    } catch (error) {
      if (ftpReplyCode(error) === 550) return 'missing';
      if (isNotImplementedReply(error)) return 'unsupported';
      throw error;
    }
    return sizeOfReply(reply.message) ?? 'unsupported';
  }

  /** Connect, AUTH TLS for ftps, log in, binary mode: all within connectTimeoutMs (R47). */
  async #open(): Promise<void> {
    const { host, port, secure, user, password, display } = this.target;
    const limit = this.#options.connectTimeoutMs;
    const timer =
      limit > 0
        ? setTimeout(() => {
            const message = `no FTP session with ${display} within ${limit} ms (${this.step})`;
            this.fail(new TransferError('BT_ERR_TIMEOUT', message));
          }, limit)
        : undefined;
    try {
      this.step = `connect to ${host}:${port}`;
      await this.client.connect(host, port);
      if (secure) {
        this.step = 'AUTH TLS';
        await this.client.useTLS(this.#tlsOptions());
      }
      // As basic-ftp's access(): before login, so a non-ASCII user name or password arrives as UTF-8.
      await this.client.sendIgnoringError('OPTS UTF8 ON');
      this.step = `login as ${user}`;
      await this.client.login(user, password);
      // TYPE I (binary), STRU F, and for FTPS: PBSZ 0, PROT P (data connections encrypted too).
      this.step = 'session setup (TYPE I)';
      await this.client.useDefaultSettings();
    } finally {
      clearTimeout(timer);
    }
  }

  #tlsOptions(): ConnectionOptions {
    const extra = this.#options.extraCaCertificates;
    // `host` is what the certificate is checked against; basic-ftp reuses these options (and the TLS
    // session) for every data connection. `ca` replaces Node's store, so the roots are kept.
    const options: ConnectionOptions = { host: this.target.host };
    if (extra.length > 0) options.ca = [...rootCertificates, ...extra];
    return options;
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
        this.#passiveMode = this.client.prepareTransfer;
        this.client.prepareTransfer = (next) => this.#openDataConnection(next, libraryStrategy);
      }
    }
    if (this.beforeTransfer !== null) await this.beforeTransfer(ftp);
    return response;
  }
}
