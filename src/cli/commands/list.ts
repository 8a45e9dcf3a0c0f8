import type { Command } from 'commander';
import { redactUrl } from '../../core/redact.ts';
import type { OperationSnapshot } from '../../core/snapshot.ts';
import { Connection } from '../connection.ts';
import { type CliContext, cliAppId, writeLine } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatAmount, progressFields, statusName } from '../format.ts';
import { kindOf } from '../transfer-kind.ts';

interface ListOptions {
  app?: string;
  json?: boolean;
}

const EXAMPLES = `
Examples:
  $ bgtransfer list
  $ bgtransfer list --json | jq -r 'select(.status == 7) | .guid'
  $ BGTRANSFER_APP_ID=my-app bgtransfer list     # or: bgtransfer list --app my-app

Shows guid, whether it is an upload or a download, status, bytes sent (an upload) or received (a download)
of the total, method and URI; never request headers or credentials (user names, passwords and
secret-looking query values are masked).`;

/** `bgtransfer list [--json]` (docs/api/cli.md). */
export function defineListCommand(command: Command, context: CliContext): void {
  command
    .description('list the uploads and downloads of the app, in every state')
    .option('--app <id>', 'the app whose transfers to list (default: $BGTRANSFER_APP_ID or bgtransfer-cli)')
    .option('--json', 'one JSON object per line')
    .addHelpText('after', EXAMPLES)
    .action(async (options: ListOptions) => {
      const port = await new Connection(context.env).port();
      const snapshots = await port.call('list', cliAppId(context, options.app), { filter: { kind: 'all' } });
      if (options.json) {
        for (const snapshot of snapshots) writeLine(context.stdout, JSON.stringify(listEntry(snapshot)));
      } else if (snapshots.length === 0) {
        writeLine(context.stderr, 'bgtransfer: no uploads or downloads');
      } else {
        for (const row of table(snapshots)) writeLine(context.stdout, row);
      }
      context.exitCode = ExitCode.success;
    });
}

/**
 * One `list --json` line: guid, `direction` ("upload" or "download") and the progress fields of that
 * kind of operation (docs/api/cli.md), and what the table shows.
 */
function listEntry(snapshot: OperationSnapshot): Record<string, unknown> {
  return {
    guid: snapshot.guid,
    direction: kindOf(snapshot),
    ...progressFields(snapshot),
    statusName: statusName(snapshot.progress.status),
    method: snapshot.method,
    requestedUri: redactUrl(snapshot.requestedUri),
    group: snapshot.group,
    createdAt: new Date(snapshot.createdAtMs).toISOString(),
    ...(snapshot.error ? { error: { code: snapshot.error.code, message: snapshot.error.message } } : {}),
  };
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
