import type { DownloadRequest } from './download-request.ts';
import {
  COST_POLICY_NAMES,
  type CostPolicyName,
  PRIORITY_NAMES,
  type PriorityName,
  type TransferChoices,
} from './transfer-choices.ts';
import type { UploadRequest } from './upload-request.ts';

/**
 * `bgtransfer upload FILE URL` and `bgtransfer download URL FILE` read by hand, for the lean path
 * (transfer-alone.ts): commander and the other commands' modules are most of the CLI's start-up, paid
 * in full by every big transfer. Only plain, valid command lines are read here: anything else (`--help`,
 * an unknown option, a missing value, a value that starts with a dash, an option given twice, `--`, a
 * wrong number of arguments, a choice that is not one) is left to the command tree, which answers it
 * as for every command. What is read here is what commander would have handed the command's action
 * (`transfer-argv.test.ts` holds the two to that).
 */

export type PlainTransfer = { kind: 'upload'; request: UploadRequest } | { kind: 'download'; request: DownloadRequest };

type ValueOption = 'method' | 'header' | 'priority' | 'costPolicy' | 'group';
type FlagOption = 'detach' | 'json';

const VALUE_OPTIONS: ReadonlyMap<string, ValueOption> = new Map([
  ['-X', 'method'],
  ['--method', 'method'],
  ['-H', 'header'],
  ['--header', 'header'],
  ['--priority', 'priority'],
  ['--cost-policy', 'costPolicy'],
  ['--group', 'group'],
]);
const FLAG_OPTIONS: ReadonlyMap<string, FlagOption> = new Map([
  ['-d', 'detach'],
  ['--detach', 'detach'],
  ['--json', 'json'],
]);

function isChoice<T extends string>(names: readonly T[], value: string): value is T {
  return (names as readonly string[]).includes(value);
}

/** The command line of a plain upload or download, or undefined when the command tree must read it. */
export function plainTransfer(argv: readonly string[]): PlainTransfer | undefined {
  const kind = argv[0];
  if (kind !== 'upload' && kind !== 'download') return undefined;
  const values = new Map<ValueOption, string>();
  const flags = new Set<FlagOption>();
  const headers: string[] = [];
  const operands: string[] = [];
  for (let index = 1; index < argv.length; index++) {
    const arg = argv[index] as string;
    if (!arg.startsWith('-')) {
      operands.push(arg);
      continue;
    }
    const flag = FLAG_OPTIONS.get(arg);
    if (flag !== undefined) {
      if (flags.has(flag)) return undefined;
      flags.add(flag);
      continue;
    }
    // `--name value` or `--name=value` (commander reads both; short options only the first form here).
    const equals = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = equals === -1 ? arg : arg.slice(0, equals);
    const option = VALUE_OPTIONS.get(name);
    if (option === undefined || (option === 'method' && kind !== 'upload')) return undefined;
    const value = equals === -1 ? argv[++index] : arg.slice(equals + 1);
    if (value === undefined || value === '' || value.startsWith('-')) return undefined;
    if (option === 'header') {
      headers.push(value);
      continue;
    }
    if (values.has(option)) return undefined;
    values.set(option, value);
  }
  if (operands.length !== 2) return undefined;
  const priority = values.get('priority') ?? 'default';
  const costPolicy = values.get('costPolicy') ?? 'default';
  if (!isChoice<PriorityName>(PRIORITY_NAMES, priority)) return undefined;
  if (!isChoice<CostPolicyName>(COST_POLICY_NAMES, costPolicy)) return undefined;
  const choices: TransferChoices = {
    headers,
    priority,
    costPolicy,
    group: values.get('group'),
    detach: flags.has('detach'),
    json: flags.has('json'),
  };
  const [first, second] = operands as [string, string];
  return kind === 'upload'
    ? { kind, request: { file: first, url: second, method: values.get('method') ?? 'POST', ...choices } }
    : { kind, request: { url: first, file: second, ...choices } };
}
