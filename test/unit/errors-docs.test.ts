import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WebErrorStatus } from '../../src/core/enums.ts';
import { ERROR_DEFINITIONS, type ErrorCode } from '../../src/core/errors.ts';
import { HRESULT, webErrorStatusForHresult } from '../../src/core/hresult.ts';

/**
 * docs/errors.md is the user's list of codes (docs/api/transfer-error.md). Like fastify's doc-parity
 * test, this keeps it and ERROR_DEFINITIONS from drifting apart in either direction, and checks that the
 * source throws only codes that exist (a typo in a string literal would otherwise surface as a type
 * error only where the literal is typed as ErrorCode).
 */

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const docText = readFileSync(join(repoRoot, 'docs', 'errors.md'), 'utf8');
const definedCodes = Object.keys(ERROR_DEFINITIONS) as ErrorCode[];
const statusNames = new Map<number, string>(Object.entries(WebErrorStatus).map(([name, value]) => [value, name]));

interface DocRow {
  code: string;
  hresult: string;
  webErrorStatus: string;
  retryable: string;
}

/** Table rows whose first cell is a backticked code: | `BT_ERR_X` | HRESULT | status | retryable | … | */
function docRows(markdown: string): DocRow[] {
  const rows: DocRow[] = [];
  for (const line of markdown.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    const code = /^`(BT_ERR_[A-Z0-9_]+)`$/.exec(cells[1] ?? '')?.[1];
    if (code === undefined) continue;
    rows.push({ code, hresult: cells[2] ?? '', webErrorStatus: cells[3] ?? '', retryable: cells[4] ?? '' });
  }
  return rows;
}

function windowsHex(hresult: number): string {
  return `0x${(hresult >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

/** The per-instance HRESULT codes: their table cell is a formula, not a constant. */
function isHttpStatusCode(code: ErrorCode): boolean {
  return ERROR_DEFINITIONS[code].hresult === HRESULT.HTTP_E_STATUS_BASE;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.ts'))
    .map((path) => join(dir, path));
}

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.md'))
    .map((path) => join(dir, path));
}

describe('docs/errors.md', () => {
  const rows = docRows(docText);

  test('has exactly one table row per code in ERROR_DEFINITIONS', () => {
    for (const code of definedCodes) {
      const count = rows.filter((row) => row.code === code).length;
      assert.equal(count, 1, `${code}: expected one row in docs/errors.md, found ${count}`);
    }
  });

  test('mentions no BT_ERR_* code that ERROR_DEFINITIONS lacks', () => {
    const mentioned = new Set(docText.match(/BT_ERR_[A-Z0-9_]+/g) ?? []);
    const unknown = [...mentioned].filter((code) => !(code in ERROR_DEFINITIONS));
    assert.deepEqual(unknown, []);
  });

  test('gives each code its HRESULT, WebErrorStatus and retryable flag', () => {
    for (const row of rows) {
      if (!(row.code in ERROR_DEFINITIONS)) continue;
      const code = row.code as ErrorCode;
      const definition = ERROR_DEFINITIONS[code];
      if (isHttpStatusCode(code)) {
        assert.match(row.hresult, /^`0x80190000 \+ HTTP status`$/, `${code}: HRESULT cell`);
      } else {
        assert.ok(row.hresult.startsWith(`\`${windowsHex(definition.hresult)}\``), `${code}: HRESULT cell`);
        const status = statusNames.get(webErrorStatusForHresult(definition.hresult));
        assert.equal(row.webErrorStatus, `\`${status}\``, `${code}: WebErrorStatus cell`);
      }
      const expected = definition.retryable ? 'yes' : 'no';
      assert.equal(row.retryable.split(' ')[0], expected, `${code}: Retryable cell`);
    }
  });
});

describe('the other docs', () => {
  test('name only defined codes (`BT_ERR_INVALID_*` stands for the codes it starts)', () => {
    const markdown = [join(repoRoot, 'README.md'), ...markdownFiles(join(repoRoot, 'docs'))];
    const unknown: string[] = [];
    for (const file of markdown) {
      for (const match of readFileSync(file, 'utf8').matchAll(/BT_ERR_[A-Z0-9_]*[A-Z0-9](_\*)?/g)) {
        const name = match[0];
        const known = name.endsWith('_*')
          ? definedCodes.some((code) => code.startsWith(name.slice(0, -1)))
          : name in ERROR_DEFINITIONS;
        if (!known) unknown.push(`${file.slice(repoRoot.length)}: ${name}`);
      }
    }
    assert.deepEqual(unknown, []);
  });
});

describe('src/**/*.ts', () => {
  // A code nothing raises is a row in docs/errors.md that no user can meet: stale, or a check forgotten.
  test('raises every defined code somewhere beside its definition', () => {
    const used = new Set<string>();
    for (const file of sourceFiles(join(repoRoot, 'src'))) {
      if (file === join(repoRoot, 'src', 'core', 'errors.ts')) continue;
      for (const match of readFileSync(file, 'utf8').matchAll(/BT_ERR_[A-Z0-9_]+/g)) used.add(match[0]);
    }
    assert.deepEqual(
      definedCodes.filter((code) => !used.has(code)),
      [],
    );
  });

  // The bare prefix 'BT_ERR_' (as in code.startsWith('BT_ERR_')) is not a code and is not matched.
  test("uses only defined codes in 'BT_ERR_…' string literals", () => {
    const undefinedUses: string[] = [];
    for (const file of sourceFiles(join(repoRoot, 'src'))) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/(['"`])(BT_ERR_[A-Z0-9][A-Za-z0-9_]*)\1/g)) {
        const code = match[2] ?? '';
        if (!(code in ERROR_DEFINITIONS)) undefinedUses.push(`${file.slice(repoRoot.length)}: ${code}`);
      }
    }
    assert.deepEqual(undefinedUses, []);
  });
});
