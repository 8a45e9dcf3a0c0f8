import { readFileSync } from 'node:fs';

/**
 * The package's version. package.json sits two levels up from src/cli/ (source), from dist/cli/ (build)
 * and from dist/chunks/, where the bundle may put this function (scripts/bundle-dist.ts).
 */
export function packageVersion(): string {
  const manifest: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  const version = typeof manifest === 'object' && manifest !== null && 'version' in manifest ? manifest.version : '';
  return typeof version === 'string' ? version : '0.0.0';
}
