import { pipeline } from 'node:stream/promises';
import { type Command, Option } from 'commander';
import { openResultStream } from '../../api/result-stream.ts';
import { responseBodyPath } from '../../core/paths.ts';
import { redactHeaders, redactUrl } from '../../core/redact.ts';
import { Connection } from '../connection.ts';
import { type CliContext, cliAppId, writeLine } from '../context.ts';
import { CliError, ExitCode } from '../exit-codes.ts';
import { statusName } from '../format.ts';
import { kindOf } from '../transfer-kind.ts';

interface ResponseOptions {
  app?: string;
  body?: boolean;
  json?: boolean;
}

const EXAMPLES = `
Examples:
  $ bgtransfer response 6f1c2a34-…
  $ bgtransfer response 6f1c2a34-… --body > reply.json
  $ bgtransfer response 6f1c2a34-… --json | jq .statusCode

The response is kept on disk, so this works after the transfer ended and after restarts (R46). A
download's body is its result file; --body shows the body of an error answer, which never goes there (D13).
Exit code 1 when the server has not answered (yet).`;

/** `bgtransfer response GUID [--body]` (docs/api/cli.md; R41–R46). */
export function defineResponseCommand(command: Command, context: CliContext): void {
  command
    .description("print the server's response to an upload or download: status, actual URI, headers (--body: the body)")
    .argument('<guid>', 'the upload or download')
    .option('--app <id>', 'the app the transfer belongs to (default: $BGTRANSFER_APP_ID or bgtransfer-cli)')
    .addOption(new Option('--body', 'write only the response body bytes to stdout').conflicts('json'))
    .option('--json', 'print status, actual URI and headers as one JSON object')
    .addHelpText('after', EXAMPLES)
    .action(async (guid: string, options: ResponseOptions) => {
      const port = await new Connection(context.env).port();
      const snapshot = await port.call('get', cliAppId(context, options.app), { guid });
      const response = snapshot.response;
      if (!response) {
        // R43: no response information before the server answered, or when it never did.
        throw new CliError(
          ExitCode.transferFailed,
          `${kindOf(snapshot)} ${guid} has no response (status ${statusName(snapshot.progress.status)})`,
        );
      }
      if (options.body) {
        await pipeline(openResultStream(responseBodyPath(port.home, guid), 0), context.stdout, { end: false });
      } else if (options.json) {
        writeLine(
          context.stdout,
          JSON.stringify({
            guid,
            statusCode: response.statusCode,
            actualUri: redactUrl(response.actualUri),
            isResumable: response.isResumable,
            isBodyTruncated: response.bodyTruncated === true,
            headers: redactHeaders(response.headers),
          }),
        );
      } else {
        writeLine(context.stdout, `statusCode: ${response.statusCode}`);
        writeLine(context.stdout, `actualUri: ${redactUrl(response.actualUri)}`);
        writeLine(context.stdout, `isResumable: ${response.isResumable}`);
        if (response.bodyTruncated) writeLine(context.stdout, 'isBodyTruncated: true');
        writeLine(context.stdout, 'headers:');
        // R45: names in the case the server sent, in its order; cookie and credential values masked.
        for (const [name, value] of redactHeaders(response.headers)) writeLine(context.stdout, `  ${name}: ${value}`);
      }
      context.exitCode = ExitCode.success;
    });
}
