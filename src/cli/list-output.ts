import { redactUrl } from '../core/redact.ts';
import type { OperationSnapshot } from '../core/snapshot.ts';
import { Connection } from './connection.ts';
import { type CliContext, cliAppId, writeLine } from './context.ts';
import { ExitCode } from './exit-codes.ts';
import { formatAmount, statusName } from './format.ts';
import { listLine } from './list-line.ts';
import { kindOf } from './transfer-kind.ts';

/**
 * What `bgtransfer list` does (docs/api/cli.md), apart from its command-line parsing, so that a plain
 * `bgtransfer list --json` runs without loading the command tree (main.ts, list-alone.ts). With --json
 * each page of operations is printed as it arrives (one write per page, while the host builds the next);
 * the table needs every row for its column widths, so it waits for the last page.
 */

export interface ListOptions {
  app?: string;
  json?: boolean;
}

export async function runList(context: CliContext, options: ListOptions): Promise<void> {
  const port = await new Connection(context.env).port();
  const pages = port.listPages(cliAppId(context, options.app), { filter: { kind: 'all' } });
  if (options.json) {
    for await (const page of pages) {
      // One redaction and one write per page: every pattern stops at a line's end, so this masks what
      // a line at a time would.
      if (page.length > 0) writeLine(context.stdout, page.map(listLine).join('\n'));
    }
  } else {
    const snapshots: OperationSnapshot[] = [];
    for await (const page of pages) for (const snapshot of page) snapshots.push(snapshot);
    if (snapshots.length === 0) writeLine(context.stderr, 'bgtransfer: no uploads or downloads');
    else for (const row of table(snapshots)) writeLine(context.stdout, row);
  }
  context.exitCode = ExitCode.success;
}

function table(snapshots: readonly OperationSnapshot[]): string[] {
  const rows = [
    ['GUID', 'DIRECTION', 'STATUS', 'BYTES / TOTAL', 'METHOD', 'URI'],
    ...snapshots.map((snapshot) => [
      snapshot.guid,
      kindOf(snapshot),
      statusName(snapshot.progress.status),
      formatAmount(snapshot),
      snapshot.method,
      redactUrl(snapshot.requestedUri),
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd(),
  );
}
