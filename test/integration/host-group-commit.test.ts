import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { BackgroundTransferStatus } from '../../src/core/enums.ts';
import { homeLayout } from '../../src/core/paths.ts';
import { isProcessRunning } from '../../src/core/process.ts';
import type { OperationSpec } from '../../src/core/snapshot.ts';
import { stopHost } from '../../src/ipc/host-control.ts';
import { SocketPort } from '../../src/ipc/socket-port.ts';
import { specFor } from '../helpers/host-bed.ts';
import { makeTempDir, type RandomFile, type TempDir, writeRandomFile } from '../helpers/temp-dir.ts';
import { startUploadServer, type UploadServer } from '../helpers/upload-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

/**
 * The host commits each event-loop turn's store writes together and answers only after that commit.
 * This kills a real host with SIGKILL the moment acknowledgements arrive, while more starts and pauses
 * are in flight, and then reads the database file: every start and every pause the app was told about
 * must be there.
 */

const APP_ID = 'group-commit-app';
let temp: TempDir;
let server: UploadServer;
let file: RandomFile;
const homes: string[] = [];

before(async () => {
  temp = await makeTempDir('bt-group-commit-');
  server = await startUploadServer();
  server.route('/hang', () => ({ hang: true }));
  file = await writeRandomFile(temp.path, 'small.bin', 4096);
});

after(async () => {
  for (const home of homes) await stopHost(home).catch(() => false);
  await server.close();
  await temp.cleanup();
});

/** An upload of `file` to a path the server never answers. */
function hangSpec(): OperationSpec {
  return specFor(APP_ID, file, `${server.url}/hang`);
}

function statusesOnDisk(home: string): Map<string, number> {
  const db = new Database(homeLayout(home).database);
  try {
    const rows = db.prepare<[], { guid: string; status: number }>('SELECT guid, status FROM operations').all();
    return new Map(rows.map((row) => [row.guid, row.status]));
  } finally {
    db.close();
  }
}

/**
 * One host: acknowledged starts, then starts and pauses in flight on several connections at once, and
 * SIGKILL at the 50th new reply. With several connections readable in one event-loop turn, a reply
 * sent before the turn's commit would reach its client while the host still handles the others: the
 * window this test looks into.
 */
async function killRound(home: string): Promise<{ started: string[]; paused: string[] }> {
  homes.push(home);
  const ports = Array.from({ length: 6 }, () => new SocketPort(home));
  const portFor = (index: number): SocketPort => ports[index % ports.length] as SocketPort;
  const { pid } = await portFor(0).status(APP_ID);
  const started: string[] = [];
  const paused: string[] = [];
  let killed = false;
  const kill = (): void => {
    if (killed) return;
    killed = true;
    process.kill(pid, 'SIGKILL');
  };
  try {
    // A first wave, all acknowledged: the pauses below need stored operations.
    const first = Array.from({ length: 240 }, hangSpec);
    await Promise.all(
      first.map((spec, index) =>
        portFor(index)
          .call('start', APP_ID, { spec })
          .then(() => started.push(spec.guid)),
      ),
    );
    // Then starts and pauses together; the host dies as soon as the 50th new acknowledgement arrives,
    // with the rest still in flight (those may be lost: nobody was told about them).
    let acknowledged = 0;
    const onAck = (): void => {
      acknowledged += 1;
      if (acknowledged >= 50) kill();
    };
    const calls = first.flatMap((spec, index) => {
      const next = hangSpec();
      return [
        portFor(index)
          .call('pause', APP_ID, { guid: spec.guid })
          .then(() => {
            paused.push(spec.guid); // a reply read even after the kill was sent, so acknowledged
            onAck();
          }),
        portFor(index + 1)
          .call('start', APP_ID, { spec: next })
          .then(() => {
            started.push(next.guid);
            onAck();
          }),
      ];
    });
    void Promise.allSettled(calls);
    await waitFor('50 acknowledgements', () => killed, 60_000);
    await waitFor('the host to die', () => !isProcessRunning(pid), 30_000);
  } finally {
    // A port would start a new host and retry; only the dead host's file is inspected.
    await Promise.all(ports.map((port) => port.close().catch(() => undefined)));
  }
  return { started, paused };
}

// Three hosts: the window between an early reply and its commit is short, and one kill may miss it.
test('SIGKILL right after acknowledgements: every acknowledged start and pause is on disk', async () => {
  for (let round = 1; round <= 3; round++) {
    const home = join(temp.path, `home-${round}`);
    const { started, paused } = await killRound(home);
    assert.ok(
      started.length >= 200 && paused.length + started.length >= 250,
      'acknowledgements arrived before the kill',
    );
    const onDisk = statusesOnDisk(home);
    const missing = started.filter((guid) => !onDisk.has(guid));
    assert.deepEqual(missing, [], `${missing.length} of ${started.length} acknowledged starts are not on disk`);
    const notPaused = paused.filter((guid) => onDisk.get(guid) !== BackgroundTransferStatus.pausedByApplication);
    assert.deepEqual(notPaused, [], `${notPaused.length} of ${paused.length} acknowledged pauses are not on disk`);
    console.log(
      `host ${round} after SIGKILL: ${started.length} acknowledged starts and ${paused.length} pauses, all on disk`,
    );
  }
});
