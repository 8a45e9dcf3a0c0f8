import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * The repository explains itself: a comment, test or doc may cite only what the repository contains.
 * This checks that no file points at documents that live elsewhere or at an issue tracker's numbers,
 * that every Windows rule number (`R38`, `E5`, `D12`) cited is defined in docs/windows-behaviour.md, and that
 * every relative markdown link in docs/ and README.md leads to a file that exists.
 *
 * The patterns are assembled from pieces (or spelled with escapes) so that this file, which is scanned
 * too, does not match its own pattern strings.
 */

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const SCANNED_DIRS = ['src', 'test', 'bench', 'scripts', 'docs'];
const TEXT_EXTENSIONS = new Set(['.ts', '.js', '.mjs', '.cjs', '.md', '.sh', '.json']);
/** Measurement output written by the benchmarks: data, not prose. */
const SKIPPED_DIRS = [join('bench', 'results')];

const SECTION = '\u00a7';

/** Documents and trackers outside the repository that prose must not cite. */
const OUTSIDE_REFERENCES: ReadonlyArray<{ what: string; pattern: RegExp }> = [
  { what: 'the shared folder', pattern: new RegExp(`\\b${'shared'}/`) },
  { what: 'the contract document', pattern: new RegExp(['spec', 'contract\\.md'].join('/')) },
  { what: 'a contract section', pattern: new RegExp(`\\bcontract ${SECTION}`) },
  { what: 'a reference section', pattern: new RegExp(`\\breference (${SECTION}|E\\d)`) },
  { what: 'the reference folder', pattern: new RegExp(`\\b${'reference'}/`) },
  { what: 'the peers document', pattern: new RegExp(`\\bpeers${'\\.md'}`) },
  { what: 'the style anchors', pattern: new RegExp(['style', 'anchors'].join('-')) },
  { what: 'the dependencies document', pattern: new RegExp(`\\bdependencies${'\\.md'}`) },
  { what: 'an issue number', pattern: new RegExp(`\\b${'issue'}s?\\s+#?\\d+`, 'i') },
];

const RULE_DOC = join('docs', 'windows-behaviour.md');

function scannedFiles(): string[] {
  const files: string[] = [join(repoRoot, 'README.md')];
  for (const dir of SCANNED_DIRS) {
    const root = join(repoRoot, dir);
    if (!existsSync(root)) continue;
    for (const path of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
      const file = join(root, path);
      const rel = relative(repoRoot, file);
      if (SKIPPED_DIRS.some((skipped) => rel === skipped || rel.startsWith(`${skipped}/`))) continue;
      if (!TEXT_EXTENSIONS.has(extname(file)) || !statSync(file).isFile()) continue;
      files.push(file);
    }
  }
  return files;
}

interface Hit {
  file: string;
  line: number;
  text: string;
}

function hits(files: readonly string[], pattern: RegExp): Hit[] {
  const found: Hit[] = [];
  for (const file of files) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((text, index) => {
      if (pattern.test(text)) found.push({ file: relative(repoRoot, file), line: index + 1, text: text.trim() });
    });
  }
  return found;
}

function describeHits(found: readonly Hit[]): string[] {
  return found.map((hit) => `${hit.file}:${hit.line}: ${hit.text}`);
}

/** The rules docs/windows-behaviour.md defines: list items that start with a bold `R12`, `E5` or `D3`. */
function definedRules(): Set<string> {
  const text = readFileSync(join(repoRoot, RULE_DOC), 'utf8');
  return new Set([...text.matchAll(/^- \*\*([RED]\d+)\*\*/gm)].map((match) => match[1] ?? ''));
}

/** Relative link targets of a markdown text: `[text](target)`, without the fragment. */
function relativeLinks(markdown: string): string[] {
  const targets: string[] = [];
  for (const match of markdown.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = match[1] ?? '';
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
    const path = target.replace(/[#?].*$/, '');
    if (path !== '') targets.push(decodeURIComponent(path));
  }
  return targets;
}

/** The source layers, which docs also name paths from: `ipc/host-server.ts` is `src/ipc/host-server.ts`. */
const LAYERS = ['api', 'ipc', 'host', 'engine', 'protocols', 'store', 'core', 'net', 'source', 'cli'];

/**
 * Repository paths named in backticks: from the top (`src/…`, `test/…`, `bench/…`, `scripts/…`, `docs/…`),
 * from inside src/ (`engine/engine.ts`), built (`dist/cli/main.js`, whose source is `src/cli/main.ts`), or
 * a bench result by its file name.
 * A pattern or placeholder (`*`, `{a,b}`, `<timestamp>`, `…`) names no one file and is left out.
 */
function namedPaths(markdown: string): string[] {
  const paths: string[] = [];
  for (const span of markdown.matchAll(/`([^`\n]+)`/g)) {
    // A bench result cited by its name alone (`summary-2026-12-07T05-15-47-358Z.json`) lives in bench/results/.
    if (/^[a-z-]+-\d{4}-\d\d-\d\dT[\w-]+\.(json|txt)$/.test(span[1] ?? '')) paths.push(`bench/results/${span[1]}`);
    for (const match of (span[1] ?? '').matchAll(/(?:^|[\s(=])([\w.-]+\/[^\s`),:;]*)/g)) {
      const path = (match[1] ?? '').replace(/[.]$/, '');
      if (/[*{}<>…]/.test(path)) continue;
      const top = path.split('/')[0] ?? '';
      if (top === 'dist') paths.push(`src/${path.slice('dist/'.length).replace(/\.js$/, '.ts')}`);
      else if (['src', 'test', 'bench', 'scripts', 'docs'].includes(top)) paths.push(path);
      else if (LAYERS.includes(top) && /\.ts$/.test(path)) paths.push(`src/${path}`);
    }
  }
  return paths;
}

const files = scannedFiles();
/** README.md and docs/: what a user reads. */
const userDocs = files.filter((file) => {
  const rel = relative(repoRoot, file);
  return extname(file) === '.md' && (rel === 'README.md' || rel.startsWith(`docs${'/'}`));
});

describe('references resolve inside the repository', () => {
  test('scans the source, tests, benchmarks, scripts and docs', () => {
    const scanned = new Set(files.map((file) => relative(repoRoot, file)));
    for (const expected of [
      'README.md',
      RULE_DOC,
      join('src', 'index.ts'),
      join('test', 'unit', 'doc-references.test.ts'),
    ]) {
      assert.ok(scanned.has(expected), `${expected} is scanned`);
    }
  });

  for (const { what, pattern } of OUTSIDE_REFERENCES) {
    test(`no file cites ${what}`, () => {
      assert.deepEqual(describeHits(hits(files, pattern)), []);
    });
  }

  test(`every rule number cited is defined in ${RULE_DOC}`, () => {
    const defined = definedRules();
    for (let n = 1; n <= 86; n += 1) assert.ok(defined.has(`R${n}`), `R${n} is defined`);
    for (let n = 1; n <= 40; n += 1) assert.ok(defined.has(`D${n}`), `D${n} is defined`);
    const undefinedUses: string[] = [];
    for (const file of files) {
      const rel = relative(repoRoot, file);
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((text, index) => {
        // Rule numbers stand alone ("R38", "R41–R45", "E5", "D9"); generic type parameters such as `R1 = T`
        // are R1/R2 and defined anyway. Hex digits (0x80072EE2) are not preceded by a word boundary.
        for (const match of text.matchAll(/\b([RED][1-9]\d*)\b/g)) {
          const rule = match[1] ?? '';
          if (!defined.has(rule)) undefinedUses.push(`${rel}:${index + 1}: ${rule}`);
        }
      });
    }
    assert.deepEqual(undefinedUses, []);
  });

  test('every relative markdown link in docs/ and README.md points to an existing file', () => {
    const broken: string[] = [];
    for (const file of userDocs) {
      const rel = relative(repoRoot, file);
      for (const target of relativeLinks(readFileSync(file, 'utf8'))) {
        if (!existsSync(resolve(dirname(file), target))) broken.push(`${rel}: ${target}`);
      }
    }
    assert.deepEqual(broken, []);
  });

  test('every repository path a doc names in backticks exists', () => {
    const missing: string[] = [];
    for (const file of userDocs) {
      const rel = relative(repoRoot, file);
      for (const path of namedPaths(readFileSync(file, 'utf8'))) {
        if (!existsSync(join(repoRoot, path))) missing.push(`${rel}: ${path}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  test('the path check sees paths, also those named from inside src/ or by their built name', () => {
    assert.deepEqual(
      namedPaths(
        '`src/ipc/protocol.ts` and `ipc/host-server.ts`, `dist/cli/main.js`, `bench/x-*.json`, `npm test`, `list-2026-12-07T04-00Z.txt`',
      ),
      ['src/ipc/protocol.ts', 'src/ipc/host-server.ts', 'src/cli/main.ts', 'bench/results/list-2026-12-07T04-00Z.txt'],
    );
  });

  test('the link check sees links (a parser that finds none would pass vacuously)', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    assert.ok(relativeLinks(readme).includes('docs/architecture.md'));
    assert.deepEqual(relativeLinks('[a](x.md#part) [b](https://example.com) [c](#top) [d](../y.md "t")'), [
      'x.md',
      '../y.md',
    ]);
  });
});
