import assert from 'node:assert/strict';
import { BackgroundTransferStatus } from '../../src/core/enums.ts';
import { isTransferError } from '../../src/core/errors.ts';
import { hostStatus } from '../../src/ipc/host-control.ts';
import { SocketPort } from '../../src/ipc/socket-port.ts';
import { type Outcome, SENTINEL_APP } from './bad-input-harness.ts';

/**
 * Rows that share one running host per area (API, CLI, socket): each row is cheap, and none changes the
 * home itself, so they run one after another against the same host. After every row the harness checks
 * that the same host process still serves and the sentinel uploads are still there, completed.
 */

export interface AreaContext {
  /** The home with the sentinel uploads; its host runs. */
  home: string;
  /** A scratch directory of the area's own, outside the home. */
  scratch: string;
  /** An upload server URL (no trailing slash) that answers 200. */
  url: string;
  /** A readable regular file of a few KiB. */
  file: string;
}

export interface AreaRow {
  name: string;
  act(ctx: AreaContext): Promise<Outcome>;
  /**
   * The coded error (`exit` for CLI rows: the process's exit code), or `serves`: a harmless request that
   * succeeds (e.g. releasing a spool that is not there) and must change nothing.
   */
  expect: { code: string; message?: RegExp; exit?: number } | { serves: true };
}

/** The outcome of a call that must fail with a coded error, sync throw or rejection alike. */
export async function coded(call: () => unknown): Promise<Outcome> {
  try {
    await call();
    return {};
  } catch (error) {
    return isTransferError(error)
      ? { code: error.code, message: error.message }
      : { code: 'not coded', message: String(error) };
  }
}

/** The host that served before the row (same pid) still serves, and every sentinel is still completed. */
export async function assertHostServes(home: string, pid: number, sentinels: readonly string[]): Promise<void> {
  const status = await hostStatus(home, { appId: SENTINEL_APP });
  assert.equal(status?.pid, pid, 'the same host process still serves');
  const port = new SocketPort(home, { env: { ...process.env, BGTRANSFER_LOG_LEVEL: 'silent' } });
  try {
    const listed = await port.call('list', SENTINEL_APP, { filter: { kind: 'all' } });
    for (const guid of sentinels) {
      const entry = listed.find((candidate) => candidate.guid === guid);
      assert.equal(entry?.progress.status, BackgroundTransferStatus.completed, `sentinel ${guid} is gone or changed`);
    }
  } finally {
    await port.close();
  }
}
