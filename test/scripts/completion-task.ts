/**
 * A completion-group task for test/integration/completion-group.test.ts (R78–R82). The transfer host runs
 * it once every member upload of the group has ended; it appends one JSON line to the file named by its
 * first argument: the group id from BGTRANSFER_COMPLETION_GROUP, what it read on standard input (the
 * trigger details: `{ group, uploads: [{ guid, status, statusCode, error }] }`), its pid and the time.
 */
import { appendFileSync } from 'node:fs';

const [outFile] = process.argv.slice(2);
if (!outFile) {
  console.error('usage: completion-task.ts OUT_FILE');
  process.exit(2);
}
const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const stdin = Buffer.concat(chunks).toString('utf8');
let details: unknown = null;
try {
  details = JSON.parse(stdin);
} catch {
  details = { unparsed: stdin };
}
const line = { group: process.env.BGTRANSFER_COMPLETION_GROUP ?? null, details, pid: process.pid, atMs: Date.now() };
appendFileSync(outFile, `${JSON.stringify(line)}\n`);
