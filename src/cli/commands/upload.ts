import { basename } from 'node:path';
import { type Command, Option } from 'commander';
import { redactUrl } from '../../core/redact.ts';
import { Connection } from '../connection.ts';
import { type CliContext, cliAppId, isInproc, writeLine } from '../context.ts';
import { ExitCode as Exit, type ExitCode } from '../exit-codes.ts';
import { followOperation } from '../follow.ts';
import { formatBytes, progressJson } from '../format.ts';
import { detachOnInterrupt } from '../interrupt.ts';
import { reportOutcome } from '../outcome.ts';
import { chooseViewMode, createProgressView } from '../progress-view.ts';
import { buildUploadSpec, COST_POLICY_NAMES, PRIORITY_NAMES, type UploadRequest } from '../upload-request.ts';

interface UploadOptions {
  method: string;
  header?: string[];
  priority: UploadRequest['priority'];
  costPolicy: UploadRequest['costPolicy'];
  group?: string;
  detach?: boolean;
  json?: boolean;
}

const EXAMPLES = `
Examples:
  $ bgtransfer upload backup.tar https://example.com/upload
  $ bgtransfer upload video.mp4 https://example.com/v/1 --method PUT -H "Authorization: Bearer $TOKEN"
  $ id=$(bgtransfer upload big.iso https://example.com/iso --method PUT --detach) && bgtransfer watch "$id"
  $ bgtransfer upload data.csv https://example.com/in --json | jq -c '{bytesSent, status}'

The upload is durable: it is stored before it starts, survives the end of this command (Ctrl-C detaches,
and --detach returns at once) and a restart of the transfer host. Without a resumable server an
interrupted PUT is sent again from byte 0 and an interrupted POST fails (as on Windows, R12, R38).
Exit codes: 0 completed with a 2xx answer, 1 failed or canceled, 2 bad input, 3 host unreachable.`;

/** `bgtransfer upload FILE URL …` (docs/api/cli.md). */
export function defineUploadCommand(command: Command, context: CliContext): void {
  command
    .description('queue a durable upload of FILE to URL and show its progress until it ends')
    .argument('<file>', 'the file to send as the request body')
    .argument('<url>', 'an absolute http(s) URL')
    .option('-X, --method <method>', 'the HTTP method (PUT, PATCH, …)', 'POST')
    .option('-H, --header <header>', 'a request header "Name: value" (repeatable)', collect)
    .addOption(new Option('--priority <priority>', 'queue priority').choices(PRIORITY_NAMES).default('default'))
    .addOption(
      new Option('--cost-policy <policy>', 'whether to use metered networks')
        .choices(COST_POLICY_NAMES)
        .default('default'),
    )
    .option('--group <name>', 'a group name (for getCurrentUploadsAsync(group))')
    .option('-d, --detach', 'print the upload’s guid and return once it is queued')
    .option('--json', 'one JSON object per line: progress fields plus guid')
    .addHelpText('after', EXAMPLES)
    .action(async (file: string, url: string, options: UploadOptions) => {
      context.exitCode = await runUpload(context, { file, url, ...options });
    });
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

async function runUpload(
  context: CliContext,
  options: UploadOptions & { file: string; url: string },
): Promise<ExitCode> {
  const appId = cliAppId(context);
  const spec = buildUploadSpec(
    {
      file: options.file,
      url: options.url,
      method: options.method,
      headers: options.header ?? [],
      priority: options.priority,
      costPolicy: options.costPolicy,
      group: options.group,
    },
    appId,
  );
  const connection = new Connection(context.env);
  const port = await connection.port();
  // Once start() resolves the operation is persisted (R10): from here on it outlives this command.
  const started = await port.call('start', spec.appId, { spec });

  if (options.detach) {
    writeLine(context.stdout, options.json ? progressJson(started) : started.guid);
    if (isInproc(context)) {
      writeLine(
        context.stderr,
        'bgtransfer: note: with BGTRANSFER_HOST=inproc nothing runs the upload after this command; it starts when bgtransfer next opens this BGTRANSFER_HOME',
      );
    }
    return Exit.success;
  }

  const fileName = basename(options.file);
  const view = createProgressView({
    mode: chooseViewMode(options.json ?? false, context.stdout),
    stdout: context.stdout,
    stderr: context.stderr,
    label: () => fileName,
  });
  connection.onNotice = (message) => view.note(message);
  view.note(
    `uploading ${fileName} (${formatBytes(started.progress.totalBytesToSend)}) to ${redactUrl(spec.requestedUri)} with ${spec.method}; guid ${started.guid}${context.stdout.isTTY ? ' (Ctrl-C detaches)' : ''}`,
  );
  let result: Awaited<ReturnType<typeof followOperation>>;
  try {
    view.update(started);
    result = await detachOnInterrupt((signal) =>
      followOperation(connection, appId, started.guid, (snapshot) => view.update(snapshot), signal),
    );
  } finally {
    view.close();
  }
  if (result.kind === 'detached') {
    writeLine(context.stderr, detachedMessage(context, started.guid));
    return Exit.success;
  }
  return reportOutcome(context, result.snapshot, options.json ?? false);
}

function detachedMessage(context: CliContext, guid: string): string {
  if (isInproc(context)) {
    return `bgtransfer: detached. With BGTRANSFER_HOST=inproc the engine ran in this process, so upload ${guid} stops now and goes on when bgtransfer next opens this BGTRANSFER_HOME (a PUT restarts from byte 0, a POST fails: R12, R13).`;
  }
  return `bgtransfer: detached; upload ${guid} goes on in the transfer host. Follow it with: bgtransfer watch ${guid}`;
}
