import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { cpSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BackgroundTransferStatus } from '../../src/core/enums.ts';
import { isTransferError } from '../../src/core/errors.ts';
import type { OperationSpec } from '../../src/core/snapshot.ts';
import { stopHost } from '../../src/ipc/host-control.ts';
import { SocketPort } from '../../src/ipc/socket-port.ts';
import type { UploadServer } from './upload-server.ts';
import { waitUntil } from './wait-for.ts';

/**
 * Runs rows of bad input against a real transfer host: each row gets a copy of a home that holds
 * sentinel uploads, makes one thing in it bad, lets an app call through the real launcher, checks the
 * coded outcome, undoes the bad input and checks through a real host that the sentinels are intact.
 */

export const SENTINEL_APP = 'sentinel-app';

export interface RowContext {
  /** The home with the sentinel uploads (a copy of the template; no host runs when a row starts). */
  home: string;
  /** What the app's BGTRANSFER_HOME points at; `arrange` may change it (e.g. to a link). */
  appHome: string;
  /** A scratch directory of the row's own, outside the home. */
  scratch: string;
}

export interface Outcome {
  /** undefined: the call succeeded. */
  code?: string | undefined;
  message?: string | undefined;
}

export interface BadInputRow {
  name: string;
  /** Makes the bad input. */
  arrange(ctx: RowContext): void | Promise<void>;
  /** What the app does; default: one call through the real launcher (appCall). */
  act?(ctx: RowContext): Promise<Outcome>;
  /**
   * `code`: the call fails with it, and its message does not send the user to host.log.
   * `serves`: the call succeeds (the host started or kept running).
   */
  expect: { code: string; message?: RegExp } | { serves: true };
  /** Undoes the bad input so the sentinels can be checked; default: nothing to undo. */
  repair?(ctx: RowContext): void | Promise<void>;
  /** After the act, before repair: further checks (e.g. a file the bad input pointed at is untouched). */
  check?(ctx: RowContext): void | Promise<void>;
}

/** One app call through the real launcher (SocketPort, autoStart), as an app with BGTRANSFER_HOST=auto makes. */
export async function appCall(home: string): Promise<Outcome> {
  const port = new SocketPort(home, { env: { ...process.env, BGTRANSFER_LOG_LEVEL: 'silent' } });
  try {
    await port.call('list', SENTINEL_APP, { filter: { kind: 'all' } });
    return {};
  } catch (error) {
    return isTransferError(error)
      ? { code: error.code, message: error.message }
      : { code: 'not coded', message: String(error) };
  } finally {
    await port.close();
  }
}

export function sentinelSpec(url: string, file: string): OperationSpec {
  return {
    guid: randomUUID(),
    appId: SENTINEL_APP,
    method: 'PUT',
    requestedUri: url,
    sourcePath: file,
    headers: [],
    costPolicy: 0,
    priority: 0,
    group: null,
    transferGroup: null,
  };
}

/** Makes `home` with two completed sentinel uploads (through a real host, which is stopped after). */
export async function makeSentinelHome(home: string, server: UploadServer, files: string[]): Promise<string[]> {
  const port = new SocketPort(home, { env: { ...process.env, BGTRANSFER_LOG_LEVEL: 'silent' } });
  const guids: string[] = [];
  try {
    for (const [index, file] of files.entries()) {
      const spec = sentinelSpec(`${server.url}/sentinel-${index}`, file);
      await port.call('start', spec.appId, { spec });
      guids.push(spec.guid);
    }
    await waitUntil(async () => {
      const listed = await port.call('list', SENTINEL_APP, { filter: { kind: 'all' } });
      return (
        listed.filter((entry) => entry.progress.status === BackgroundTransferStatus.completed).length === guids.length
      );
    }, 30_000);
  } finally {
    await port.close();
  }
  await stopHost(home);
  return guids;
}

/** A copy of the template home for one row (its host log and socket are the template host's, left out). */
export function copyHome(template: string, home: string): void {
  cpSync(template, home, {
    recursive: true,
    filter: (source) => !/\/(host\.sock|host\.log|host\.failed)$/.test(source),
  });
}

/** The sentinels are all there, completed, through a real host; the host is stopped after. */
export async function assertSentinelsIntact(home: string, guids: readonly string[]): Promise<void> {
  const port = new SocketPort(home, { env: { ...process.env, BGTRANSFER_LOG_LEVEL: 'silent' } });
  try {
    const listed = await port.call('list', SENTINEL_APP, { filter: { kind: 'all' } });
    for (const guid of guids) {
      const entry = listed.find((candidate) => candidate.guid === guid);
      assert.equal(entry?.progress.status, BackgroundTransferStatus.completed, `sentinel ${guid} is gone or changed`);
    }
  } finally {
    await port.close();
  }
  await stopHost(home);
}

/**
 * Every process whose working directory is under `dir`: the hosts the launcher started there (it
 * starts them in their home). For cleanup: a host a row left running (or hung) is killed.
 */
export function processesUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`).startsWith(`${dir}/`)) pids.push(Number(entry));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return pids;
}

export function killProcessesUnder(dir: string): void {
  for (const pid of processesUnder(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

export function removeQuietly(path: string): void {
  rmSync(path, { recursive: true, force: true });
}

export function homeFiles(home: string): { db: string; wal: string; shm: string; id: string } {
  const db = join(home, 'bgtransfer.db');
  return { db, wal: `${db}-wal`, shm: `${db}-shm`, id: `${db}.id` };
}
