/**
 * What the content digest costs on a 1 GiB file (page cache warm): reading the body as an upload does
 * (readFileBody), the same read hashed (DigestingBody), and the extra read a digest sent before the
 * body needs (complete()). Runs are paired and alternated, so both see the same machine load.
 * Usage: node --conditions=source --import tsx bench/digest-read.ts [MiB] [pairs]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileBody } from '../src/source/body-source.ts';
import { DigestingBody } from '../src/source/digesting-body.ts';
import { inspectSourceFile } from '../src/source/file-source.ts';
import { writeRandomFile } from '../test/helpers/temp-dir.ts';

const mib = Number(process.argv[2] ?? 1024);
const pairs = Number(process.argv[3] ?? 5);

async function measure(run: () => Promise<void>): Promise<{ wall: number; cpu: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await run();
  const used = process.cpuUsage(cpu);
  return { wall: (performance.now() - started) / 1000, cpu: (used.user + used.system) / 1e6 };
}

async function drain(body: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _chunk of body);
}

const dir = await mkdtemp(join(tmpdir(), 'digest-bench-'));
try {
  const file = await writeRandomFile(dir, 'body.bin', mib * 1024 * 1024);
  const info = inspectSourceFile(file.path);
  await drain(fileBody(info).read(0)); // warm the page cache
  const rows: string[] = [];
  for (let pair = 0; pair < pairs; pair += 1) {
    const plain = await measure(() => drain(fileBody(info).read(0)));
    const hashed = await measure(() => drain(new DigestingBody(fileBody(info)).read(0)));
    const first = await measure(async () => {
      const body = new DigestingBody(fileBody(info));
      await body.complete();
      await drain(body.read(0));
    });
    rows.push([plain, hashed, first].map((m) => `${m.wall.toFixed(2)} s wall / ${m.cpu.toFixed(2)} CPU-s`).join(' | '));
  }
  console.log(`${mib} MiB: read | read + hash | hash first, then read (extra read)`);
  for (const row of rows) console.log(row);
} finally {
  await rm(dir, { recursive: true, force: true });
}
