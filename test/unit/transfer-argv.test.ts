import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { defineDownloadCommand } from '../../src/cli/commands/download.ts';
import { defineUploadCommand } from '../../src/cli/commands/upload.ts';
import { type CliContext, createContext } from '../../src/cli/context.ts';
import { plainTransfer } from '../../src/cli/transfer-argv.ts';

/**
 * The lean path reads a plain `upload`/`download` command line by hand (transfer-argv.ts). Whatever it
 * reads must be what commander hands the command's action for the same command line; what it does not
 * read goes to commander, which answers it as before.
 */

/** What the command tree's action would run with, or the usage error commander raised. */
async function throughCommander(argv: readonly string[]): Promise<unknown> {
  const context: CliContext = createContext();
  let request: unknown;
  const program = new Command('bgtransfer')
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  const capture = async (_context: CliContext, seen: unknown) => {
    request = seen;
    return 0 as const;
  };
  defineUploadCommand(program.command('upload'), context, capture);
  defineDownloadCommand(program.command('download'), context, capture);
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    return { usageError: error instanceof Error ? error.message : String(error) };
  }
  return request;
}

const READ_BY_HAND: string[][] = [
  ['upload', 'a.bin', 'https://example.test/u'],
  ['upload', 'a.bin', 'https://example.test/u', '--method', 'PUT'],
  ['upload', '-X', 'PATCH', 'a.bin', 'https://example.test/u'],
  ['upload', 'a.bin', '--method=PUT', 'https://example.test/u', '--json'],
  [
    'upload',
    'a.bin',
    'https://example.test/u',
    '-H',
    'Authorization: Bearer t',
    '--header',
    'X-A: 1',
    '--header=X-B: 2',
  ],
  ['upload', 'a.bin', 'https://example.test/u', '--priority', 'high', '--cost-policy', 'unrestrictedOnly'],
  ['upload', 'a.bin', 'https://example.test/u', '--priority=low', '--cost-policy=always', '--group', 'g', '-d'],
  ['upload', 'a.bin', 'https://example.test/u', '--detach', '--json', '--group=nightly'],
  ['upload', 'not a url', 'also not a file'],
  ['download', 'https://example.test/big.iso', 'big.iso'],
  ['download', 'https://example.test/big.iso', 'big.iso', '--json', '-H', 'Range-Hint: x'],
  ['download', '--detach', 'https://example.test/big.iso', 'out/big.iso', '--priority', 'high', '--group', 'g'],
  ['download', 'https://example.test/big.iso', 'big.iso', '--cost-policy', 'default', '--priority', 'default'],
];

const LEFT_TO_COMMANDER: string[][] = [
  ['upload'],
  ['upload', 'a.bin'],
  ['upload', 'a.bin', 'https://example.test/u', 'extra'],
  ['upload', 'a.bin', 'https://example.test/u', '--help'],
  ['upload', 'a.bin', 'https://example.test/u', '-h'],
  ['upload', 'a.bin', 'https://example.test/u', '-V'],
  ['upload', 'a.bin', 'https://example.test/u', '--method'],
  ['upload', 'a.bin', 'https://example.test/u', '--method='],
  ['upload', 'a.bin', 'https://example.test/u', '--method', '-X'],
  ['upload', 'a.bin', 'https://example.test/u', '-XPUT'],
  ['upload', 'a.bin', 'https://example.test/u', '-X=PUT'],
  ['upload', 'a.bin', 'https://example.test/u', '--method', 'PUT', '--method', 'POST'],
  ['upload', 'a.bin', 'https://example.test/u', '--json', '--json'],
  ['upload', 'a.bin', 'https://example.test/u', '-dH', 'X: 1'],
  ['upload', 'a.bin', 'https://example.test/u', '--priority', 'urgent'],
  ['upload', 'a.bin', 'https://example.test/u', '--cost-policy', 'never'],
  ['upload', 'a.bin', 'https://example.test/u', '--unknown'],
  ['upload', '-', 'https://example.test/u'],
  ['upload', '--', 'a.bin', 'https://example.test/u'],
  ['download', 'https://example.test/big.iso', 'big.iso', '--method', 'GET'],
  ['download', 'https://example.test/big.iso'],
  ['list', '--json'],
  ['watch'],
  ['--json', 'upload', 'a.bin', 'https://example.test/u'],
  [],
];

describe('plain upload and download command lines', () => {
  for (const argv of READ_BY_HAND) {
    it(`reads ${argv.join(' ')} as commander does`, async () => {
      const plain = plainTransfer(argv);
      assert.ok(plain, 'read by hand');
      assert.equal(plain.kind, argv[0]);
      assert.deepEqual(plain.request, await throughCommander(argv));
    });
  }

  for (const argv of LEFT_TO_COMMANDER) {
    it(`leaves ${JSON.stringify(argv)} to commander`, () => {
      assert.equal(plainTransfer(argv), undefined);
    });
  }

  it('every value of a choice commander accepts is read by hand too', async () => {
    for (const priority of ['default', 'high', 'low']) {
      for (const policy of ['default', 'unrestrictedOnly', 'always']) {
        const argv = ['upload', 'f', 'https://example.test/', '--priority', priority, '--cost-policy', policy];
        assert.deepEqual(plainTransfer(argv)?.request, await throughCommander(argv));
      }
    }
  });
});
