import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What every result file says of the machine: a load average beside a number says how much to trust it. */
export function benchEnvironment(loadAverageBefore: number[]) {
  return {
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    loadAverageBefore,
    loadAverageAfter: loadavg(),
  };
}

/** Writes bench/results/<name>-<date>.json and returns its path. JSON has no NaN: a missing measure is null. */
export async function writeBenchResult(name: string, date: Date, result: object): Promise<string> {
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${name}-${date.toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(path, `${JSON.stringify(result, (_key, value) => (Number.isNaN(value) ? null : value), 2)}\n`);
  return path;
}
