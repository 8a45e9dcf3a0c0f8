import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { type ListOptions, runList } from '../list-output.ts';

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
    .action((options: ListOptions) => runList(context, options));
}
