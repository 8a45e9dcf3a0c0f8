import { randomUUID } from 'node:crypto';
import { closeSync, fchmodSync, lstatSync, mkdirSync, openSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DEFAULT_EXTRAS, DEFAULT_REQUEST_EXTRAS } from '../core/default-extras.ts';
import { isTerminalStatus, BackgroundTransferStatus as S } from '../core/enums.ts';
import { TransferError } from '../core/errors.ts';
import type { OperationExtras, RequestExtras } from '../core/operation-extras.ts';
import { SPOOL_ID_PATTERN } from '../core/spool-id.ts';

/**
 * The spool files of stream uploads (createUploadFromStreamAsync), owned by the engine.
 *
 * Why the host creates them: a client that could name a spool path could make the host upload any
 * file of the user and then delete it. So the engine creates an empty file `spool/stream-<id>.spool`
 * itself and hands the app only its id and path; the app (the same OS user) writes the stream into it
 * and starts the upload with the id. The engine turns an id back into a path only for the app it
 * created it for, and only while no operation owns it yet. This is simpler than carrying the bytes
 * over the socket (no binary framing, no second copy) and as safe: an id names nothing but a file the
 * engine made, in a directory it owns.
 *
 * A spool nobody started is released, not kept: when the holder that asked for it goes (the app's
 * connection closes, the in-process engine closes), and at the next engine start for any file in the
 * spool directory that no stored, unfinished operation owns (its holder died with the previous host).
 */

interface PendingSpool {
  appId: string;
  /** Who asked for it (a host connection, or the in-process engine); released when it goes. */
  holder: string;
  path: string;
}

export interface CreatedSpool {
  spoolId: string;
  /** Where the app writes the stream (mode 0600 inside the 0700 spool directory). */
  path: string;
}

export class SpoolRegistry {
  readonly #directory: string;
  readonly #pending = new Map<string, PendingSpool>();

  constructor(directory: string) {
    this.#directory = directory;
  }

  /** Creates an empty spool file for `appId` on behalf of `holder`. */
  create(appId: string, holder: string): CreatedSpool {
    const spoolId = randomUUID();
    const path = this.#pathOf(spoolId);
    try {
      mkdirSync(this.#directory, { recursive: true, mode: 0o700 });
      const fd = openSync(path, 'wx', 0o600);
      try {
        // The mode given to open() is narrowed by the umask; make it exactly owner read/write.
        fchmodSync(fd, 0o600);
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new TransferError('BT_ERR_IO', `cannot create a spool file in ${this.#directory}: ${detail}`, {
        cause: error,
      });
    }
    this.#pending.set(spoolId, { appId, holder, path });
    return { spoolId, path };
  }

  /**
   * The path of a spool this engine created for `appId` and nobody started yet. BT_ERR_NOT_FOUND for
   * any other id: made up, another app's, already started, or released (its app disconnected, or the
   * host restarted, before the upload was started).
   */
  pathFor(appId: string, spoolId: string): string {
    const pending = this.#pending.get(spoolId);
    if (!pending || pending.appId !== appId) {
      throw new TransferError(
        'BT_ERR_NOT_FOUND',
        `no spooled stream ${spoolId} for app ${appId}: a spool lives from createUploadFromStreamAsync until the upload starts, as long as that app stays connected to the same transfer host; create the upload again`,
      );
    }
    const stats = lstatSync(pending.path, { throwIfNoEntry: false });
    if (!stats?.isFile()) {
      this.#pending.delete(spoolId);
      throw new TransferError('BT_ERR_NOT_FOUND', `the spool file of stream ${spoolId} is gone: ${pending.path}`);
    }
    return pending.path;
  }

  /** An operation now owns the spool: it is removed when the operation ends, not when its holder goes. */
  adopt(spoolId: string): void {
    this.#pending.delete(spoolId);
  }

  /** The app gave up on one spool (spooling failed, or the operation was refused). Unknown ids are ignored. */
  release(appId: string, spoolId: string): void {
    const pending = this.#pending.get(spoolId);
    if (!pending || pending.appId !== appId) return;
    this.#pending.delete(spoolId);
    rmSync(pending.path, { force: true });
  }

  /** Removes every spool `holder` asked for and did not start (its app disconnected or exited). */
  releaseHolder(holder: string): number {
    let released = 0;
    for (const [spoolId, pending] of this.#pending) {
      if (pending.holder !== holder) continue;
      this.#pending.delete(spoolId);
      rmSync(pending.path, { force: true });
      released++;
    }
    return released;
  }

  /** Removes every unstarted spool (the engine closes: nobody can start them any more). */
  releaseAll(): void {
    for (const pending of this.#pending.values()) rmSync(pending.path, { force: true });
    this.#pending.clear();
  }

  /**
   * At engine start: removes every spool file that no stored, unfinished operation owns. Its app
   * asked the previous engine for it and never started it, or its operation ended before the file
   * could be removed. Returns the names removed.
   */
  reapOrphans(ownedPaths: Iterable<string>): string[] {
    const owned = new Set<string>();
    for (const path of ownedPaths) owned.add(basename(path));
    let names: string[];
    try {
      names = readdirSync(this.#directory);
    } catch {
      return [];
    }
    const removed: string[] = [];
    for (const name of names) {
      if (owned.has(name) || !isSpoolName(name)) continue;
      rmSync(join(this.#directory, name), { force: true });
      removed.push(name);
    }
    return removed;
  }

  #pathOf(spoolId: string): string {
    return join(this.#directory, `stream-${spoolId}.spool`);
  }
}

/** Only files named as the engine names them are touched: anything else in the directory is not ours. */
function isSpoolName(name: string): boolean {
  const match = /^stream-(.+)\.spool$/.exec(name);
  return match !== null && SPOOL_ID_PATTERN.test(match[1] ?? '');
}

/**
 * The extras an operation is stored with: what the app asked for, and the engine's own state starting
 * empty (no session, not probed). A stream body's spool id becomes the path of the file the engine
 * created for that app (BT_ERR_NOT_FOUND otherwise).
 */
export function storedExtras(
  appId: string,
  request: RequestExtras | undefined,
  spools: SpoolRegistry,
): OperationExtras {
  const asked = request ?? DEFAULT_REQUEST_EXTRAS;
  const body: OperationExtras['body'] =
    asked.body.kind === 'stream'
      ? { kind: 'stream', spoolPath: spools.pathFor(appId, asked.body.spoolId) }
      : asked.body;
  return { ...DEFAULT_EXTRAS, ...asked, body, session: null, probedPlain: false };
}

/** Every status an operation can still leave: its spool is still needed. */
export const UNFINISHED = Object.values(S).filter((status) => !isTerminalStatus(status));

/** The spool files that stored, unfinished uploads need (an ended upload's spool goes when it ends). */
export function unfinishedSpoolPaths(records: ReadonlyArray<{ extras: OperationExtras }>): string[] {
  return records.flatMap((record) => (record.extras.body.kind === 'stream' ? [record.extras.body.spoolPath] : []));
}
