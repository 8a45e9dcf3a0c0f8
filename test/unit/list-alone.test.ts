import assert from 'node:assert/strict';
import { test } from 'node:test';
import { plainListOptions } from '../../src/cli/list-alone.ts';

/**
 * `bgtransfer list` in its plain forms skips the command tree (main.ts); every other command line,
 * including a list the full parser must answer (help, a bad or repeated option, a missing value), is
 * left to it.
 */

test('the plain forms of list are recognised with their options', () => {
  assert.deepEqual(plainListOptions(['list']), {});
  assert.deepEqual(plainListOptions(['list', '--json']), { json: true });
  assert.deepEqual(plainListOptions(['list', '--app', 'my-app']), { app: 'my-app' });
  assert.deepEqual(plainListOptions(['list', '--app', 'my-app', '--json']), { app: 'my-app', json: true });
  assert.deepEqual(plainListOptions(['list', '--json', '--app', 'my-app']), { app: 'my-app', json: true });
});

test('everything else goes to the command tree', () => {
  for (const argv of [
    [],
    ['upload', 'a', 'b'],
    ['lists'],
    ['list', '--help'],
    ['list', '-h'],
    ['list', '--app'],
    ['list', '--app', '--json'],
    ['list', '--app=my-app'],
    ['list', '--json', '--json'],
    ['list', '--app', 'a', '--app', 'b'],
    ['list', 'extra'],
    ['--verbose', 'list'],
  ]) {
    assert.equal(plainListOptions(argv), undefined, argv.join(' '));
  }
});
