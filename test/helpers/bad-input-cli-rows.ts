import { join } from 'node:path';

import type { AreaContext, AreaRow } from './bad-input-area.ts';
import type { Outcome } from './bad-input-harness.ts';
import { runBgtransfer } from './cli-run.ts';

/**
 * CLI rows of test/integration/bad-input.test.ts: `bgtransfer` run from source as a user runs it, against
 * the area's running host (BGTRANSFER_HOST=auto). Each expects the documented exit code (2: bad input) and
 * a `bgtransfer: … (BT_ERR_*)` line on stderr.
 */

/** The error line; a long message (a schema's) may wrap before the code. */
const CODE_LINE = /^bgtransfer: [\s\S]*?\((BT_ERR_[A-Z_]+)\)$/m;

/** Runs the CLI; the outcome's code is the one its error line names, its message the whole stderr. */
export async function runCli(ctx: AreaContext, args: readonly string[]): Promise<Outcome & { exit: number | null }> {
  const run = await runBgtransfer(args, { BGTRANSFER_HOME: ctx.home, BGTRANSFER_HOST: 'auto' });
  const stderr = run.stderr.join('\n');
  return { code: CODE_LINE.exec(stderr)?.[1] ?? 'no coded line', message: stderr, exit: run.code };
}

function cliRow(name: string, args: (ctx: AreaContext) => string[], code: string, message?: RegExp): AreaRow {
  return {
    name: `CLI: ${name}`,
    act: (ctx) => runCli(ctx, args(ctx)),
    expect: { code, exit: 2, ...(message ? { message } : {}) },
  };
}
const up = (ctx: AreaContext, ...more: string[]): string[] => ['upload', ctx.file, `${ctx.url}/cli`, ...more];
const NIL_GUID = '00000000-0000-4000-8000-000000000000';

export const CLI_ROWS: AreaRow[] = [
  cliRow('an unknown command', () => ['frobnicate'], 'BT_ERR_INVALID_ARGUMENT', /unknown command/),
  cliRow('an unknown option', (ctx) => up(ctx, '--bogus'), 'BT_ERR_INVALID_ARGUMENT', /unknown option/),
  cliRow('upload without a URL', (ctx) => ['upload', ctx.file], 'BT_ERR_INVALID_ARGUMENT', /url/),
  cliRow('--priority urgent', (ctx) => up(ctx, '--priority', 'urgent'), 'BT_ERR_INVALID_ARGUMENT', /urgent/),
  cliRow('--cost-policy sometimes', (ctx) => up(ctx, '--cost-policy', 'sometimes'), 'BT_ERR_INVALID_ARGUMENT'),
  cliRow('--header without a colon', (ctx) => up(ctx, '--header', 'nocolon'), 'BT_ERR_INVALID_HEADER'),
  cliRow('--header with an empty name', (ctx) => up(ctx, '--header', ': value'), 'BT_ERR_INVALID_HEADER'),
  cliRow('--header name that is not a token', (ctx) => up(ctx, '-H', 'X A: v'), 'BT_ERR_INVALID_HEADER'),
  cliRow('--method with a space', (ctx) => up(ctx, '-X', 'PO ST'), 'BT_ERR_INVALID_METHOD'),
  cliRow('a missing file', (ctx) => ['upload', join(ctx.scratch, 'nope.bin'), `${ctx.url}/x`], 'BT_ERR_FILE_NOT_FOUND'),
  cliRow('a directory as the file', (ctx) => ['upload', ctx.scratch, `${ctx.url}/x`], 'BT_ERR_NOT_A_FILE'),
  cliRow('a relative URL', (ctx) => ['upload', ctx.file, 'upload/here'], 'BT_ERR_INVALID_URI'),
  cliRow('a file: URL', (ctx) => ['upload', ctx.file, `file://${ctx.file}`], 'BT_ERR_UNSUPPORTED_SCHEME'),
  cliRow('config with an unknown key', () => ['config', 'noSuchKey', '3'], 'BT_ERR_CONFIG_INVALID', /noSuchKey/),
  cliRow('config maxConcurrentTransfers -1', () => ['config', 'maxConcurrentTransfers', '-1'], 'BT_ERR_CONFIG_INVALID'),
  cliRow('config maxAttempts "many"', () => ['config', 'maxAttempts', 'many'], 'BT_ERR_CONFIG_INVALID'),
  cliRow('config metered "perhaps"', () => ['config', 'metered', 'perhaps'], 'BT_ERR_CONFIG_INVALID'),
  cliRow('pause of an unknown guid', () => ['pause', NIL_GUID], 'BT_ERR_NOT_FOUND'),
  cliRow('resume of an unknown guid', () => ['resume', NIL_GUID], 'BT_ERR_NOT_FOUND'),
  cliRow('cancel of an unknown guid', () => ['cancel', NIL_GUID], 'BT_ERR_NOT_FOUND'),
  cliRow('response of an unknown guid', () => ['response', NIL_GUID], 'BT_ERR_NOT_FOUND'),
  cliRow('pause of a path-like guid', () => ['pause', '../../etc/passwd'], 'BT_ERR_NOT_FOUND'),
  cliRow('cancel of a 300-character guid', () => ['cancel', 'g'.repeat(300)], 'BT_ERR_INVALID_ARGUMENT'),
];
