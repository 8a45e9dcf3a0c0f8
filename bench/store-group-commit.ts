import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { SqliteOperationStore } from '../src/store/sqlite-store.ts';
import { newOperation } from '../test/helpers/store-fixtures.ts';

/**
 * The store's share of a small upload, with and without group commit, in CPU time of this process.
 *
 *   node --conditions=source --import tsx bench/store-group-commit.ts [--count 10000] [--batch 16] [--rounds 3]
 *
 * Each upload makes the host's transitions: insert, running, progress, final answer, completed. Uploads
 * go in batches of `batch` (the host runs 16 at a time), each transition of a batch in one event-loop
 * turn, as the host sees them. Rounds alternate the two modes on fresh database files.
 */

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    batch: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '3' },
  },
});
const count = Number(values.count);
const batch = Number(values.batch);
const rounds = Number(values.rounds);
const root = mkdtempSync(join(tmpdir(), 'bt-store-bench-'));
const answer = { statusCode: 201, actualUri: 'http://127.0.0.1/put', isResumable: false, headers: [] };

async function run(grouped: boolean, round: number): Promise<number> {
  const store = SqliteOperationStore.open(join(root, `${grouped ? 'group' : 'single'}-${round}.db`), {
    ...(grouped ? { groupCommit: { onError: (error: unknown) => console.error(error) } } : {}),
  });
  const started = process.cpuUsage();
  for (let first = 0; first < count; first += batch) {
    const guids = Array.from({ length: Math.min(batch, count - first) }, (_, index) => `op-${first + index}`);
    for (const guid of guids) store.insertOperation(newOperation({ guid, sourceSize: 4096 }));
    await nextTurn();
    for (const guid of guids) store.moveToRunning(guid);
    await nextTurn();
    for (const guid of guids) store.recordProgress(guid, { bytesSent: 4096, bytesReceived: 0, totalBytesToReceive: 0 });
    await nextTurn();
    for (const guid of guids) store.recordResponse(guid, answer, 0);
    await nextTurn();
    for (const guid of guids) store.moveToCompleted(guid);
    await nextTurn();
  }
  const used = process.cpuUsage(started);
  store.close();
  return (used.user + used.system) / 1000 / count;
}

const results: Record<string, number[]> = { single: [], group: [] };
for (let round = 0; round < rounds; round += 1) {
  results.single?.push(await run(false, round));
  results.group?.push(await run(true, round));
}
rmSync(root, { recursive: true, force: true });
const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] ?? Number.NaN;
for (const [mode, list] of Object.entries(results)) {
  console.log(
    `${mode}: CPU ms per upload ${list.map((value) => value.toFixed(3)).join(', ')} (median ${median(list).toFixed(3)})`,
  );
}
