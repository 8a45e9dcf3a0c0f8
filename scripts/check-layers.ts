import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The dependency-direction check of `npm run lint`: every relative import under src/ must point at
 * the importing file's own layer or one below it. No dependency needed: the import specifiers are read
 * with a regular expression (static `import … from`, `export … from`, `import type`, bare `import '…'`
 * and dynamic `import('…')`), which is enough for this code base's one-import-per-statement style.
 *
 * The layers, top to bottom. A folder may import its own layer and every layer below, never one above,
 * and never a sibling in the same rank (so protocols and store stay independent of each other):
 *
 *   entry      src/index.ts, src/winrt.ts, src/cli — what users run or import
 *   api        the Windows-shaped classes; they reach the engine only through ipc's TransferPort
 *   ipc        the seam: the port interface, the method table, its socket client and server, the
 *              in-process port
 *   host       the engine as apps see it (per-app scoping, completion tasks, notifications, the host
 *              process's lifecycle)
 *   engine     scheduling, transitions, retries
 *   protocols | store    how bytes reach a server | how state is kept (independent of each other)
 *   net        dispatchers, proxies, the network monitor
 *   source     body sources (files, spooled streams)
 *   core       plain data, errors, paths, config: imported by everyone, imports no layer
 *
 * So: protocols never import engine, store, host or ipc; api never imports engine, store or protocols
 * (FORBIDDEN below says it in so many words, whatever the ranks say); nothing imports a layer above it.
 * And engine meets protocols only at their seam: the interface and the registry (below).
 */
const RANKS: ReadonlyArray<readonly string[]> = [
  ['entry'],
  ['api'],
  ['ipc'],
  ['host'],
  ['engine'],
  ['protocols', 'store'],
  ['net'],
  ['source'],
  ['core'],
];

/** Explicit bans beyond the ranks: the api meets the engine only through the port. */
const FORBIDDEN: Readonly<Record<string, readonly string[]>> = {
  api: ['engine', 'store', 'protocols', 'host', 'net'],
  protocols: ['engine', 'store', 'host', 'ipc'],
};

/**
 * The protocol seam (docs/protocols.md): the engine reaches the upload protocols only through the
 * interface and the registry (and the download code through download-protocol.ts), so that adding a protocol is one folder and one registry line, and no
 * engine file grows a branch for one. `multipart/` is a body encoding, not a protocol.
 */
const ENGINE_MAY_IMPORT_FROM_PROTOCOLS: readonly string[] = [
  'protocols/upload-protocol.ts',
  'protocols/registry.ts',
  'protocols/download-protocol.ts',
  'protocols/multipart/',
];

const SEAM_RULE = 'engine reaches protocols only through upload-protocol.ts, registry.ts and download-protocol.ts';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');

function layerOf(src: string, file: string): string {
  const parts = relative(src, file).split(sep);
  if (parts.length === 1 || parts[0] === 'cli') return 'entry';
  const layer = parts[0] ?? '';
  // A new folder must be placed in the table: an unknown layer is an error, not a pass.
  if (!RANKS.some((rank) => rank.includes(layer))) throw new Error(`${file}: src/${layer} is in no layer (RANKS)`);
  return layer;
}

function rankOf(layer: string): number {
  return RANKS.findIndex((rank) => rank.includes(layer));
}

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;

/** Every violation under `src` as `file: imports target (why)`. */
export function checkLayers(src: string = SRC): string[] {
  const root = dirname(src);
  const problems: string[] = [];
  for (const file of sourceFiles(src)) {
    const from = layerOf(src, file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2] ?? match[3] ?? '';
      if (!specifier.startsWith('.')) continue;
      const target = resolve(dirname(file), specifier);
      if (!target.startsWith(src + sep)) continue;
      const to = layerOf(src, target);
      if (to === from) continue;
      const where = `${relative(root, file)}: imports ${relative(root, target)}`;
      const inSrc = relative(src, target).split(sep).join('/');
      if (FORBIDDEN[from]?.includes(to)) problems.push(`${where} (${from} never imports ${to})`);
      else if (from === 'engine' && to === 'protocols' && !seamImport(inSrc)) problems.push(`${where} (${SEAM_RULE})`);
      else if (rankOf(to) < rankOf(from)) problems.push(`${where} (${from} is below ${to})`);
      else if (rankOf(to) === rankOf(from)) problems.push(`${where} (${from} and ${to} are independent)`);
    }
  }
  return problems;
}

function seamImport(inSrc: string): boolean {
  return ENGINE_MAY_IMPORT_FROM_PROTOCOLS.some((allowed) =>
    allowed.endsWith('/') ? inSrc.startsWith(allowed) : inSrc === allowed,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problems = checkLayers();
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) {
    console.error(`check-layers: ${problems.length} import(s) against the layer order (see scripts/check-layers.ts)`);
    process.exit(1);
  }
  console.log('check-layers: every import under src/ follows the layer order');
}
