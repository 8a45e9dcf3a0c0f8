import { type Command, Option } from 'commander';
import { validateHeader } from '../api/validation.ts';
import { TransferError } from '../core/errors.ts';
import type { TransferKind } from './transfer-kind.ts';

export const PRIORITY_NAMES = ['default', 'high', 'low'] as const;
export const COST_POLICY_NAMES = ['default', 'unrestrictedOnly', 'always'] as const;

/** The options `upload` and `download` share, as commander hands them to the action. */
export interface TransferOptions {
  header?: string[];
  priority: (typeof PRIORITY_NAMES)[number];
  costPolicy: (typeof COST_POLICY_NAMES)[number];
  group?: string;
  detach?: boolean;
  json?: boolean;
}

/**
 * Declares the shared options on `command`, in one place so that `--help` of both commands says the
 * same and the two cannot drift (docs/api/cli.md).
 */
export function addTransferOptions(command: Command, kind: TransferKind): Command {
  const enumeration = kind === 'upload' ? 'getCurrentUploadsAsync(group)' : 'getCurrentDownloadsAsync(group)';
  const progress = kind === 'upload' ? 'BackgroundUploadProgress' : 'BackgroundDownloadProgress';
  return command
    .option('-H, --header <header>', 'a request header "Name: value" (repeatable)', collect)
    .addOption(new Option('--priority <priority>', 'queue priority').choices(PRIORITY_NAMES).default('default'))
    .addOption(
      new Option('--cost-policy <policy>', 'whether to use metered networks')
        .choices(COST_POLICY_NAMES)
        .default('default'),
    )
    .option('--group <name>', `a group name (for ${enumeration})`)
    .option('-d, --detach', `print the ${kind}’s guid and return once it is queued`)
    .option('--json', `one JSON object per line: the ${progress} fields plus guid`);
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** "Name: value" → [name, value], checked like setRequestHeader (BT_ERR_INVALID_HEADER). */
export function parseHeaderLine(line: string): [string, string] {
  const colon = line.indexOf(':');
  if (colon <= 0) {
    throw new TransferError(
      'BT_ERR_INVALID_HEADER',
      `--header must look like "Name: value", got ${JSON.stringify(line)}`,
    );
  }
  return validateHeader(line.slice(0, colon).trim(), line.slice(colon + 1));
}
