import { type Command, Option } from 'commander';
import {
  COST_POLICY_NAMES,
  type CostPolicyName,
  PRIORITY_NAMES,
  type PriorityName,
  type TransferChoices,
} from './transfer-choices.ts';
import type { TransferKind } from './transfer-kind.ts';

/** The options `upload` and `download` share, as commander hands them to the action. */
export interface TransferOptions {
  header?: string[];
  priority: PriorityName;
  costPolicy: CostPolicyName;
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

/** Commander's options as the shared choices, with the defaults the lean path applies too. */
export function transferChoices(options: TransferOptions): TransferChoices {
  return {
    headers: options.header ?? [],
    priority: options.priority,
    costPolicy: options.costPolicy,
    group: options.group,
    detach: options.detach ?? false,
    json: options.json ?? false,
  };
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
