import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { closeAsync } from '../../src/api/port-provider.ts';
import { makeTempDir } from './temp-dir.ts';

export interface ApiHome {
  home: string;
  dir: string;
  cleanup(): Promise<void>;
}

/**
 * Points this test process's API at a fresh BGTRANSFER_HOME with the in-process engine
 * (BGTRANSFER_HOST=inproc), optionally with a config.json. One per test: the API keeps one engine per
 * process, and cleanup() closes it before the directory goes.
 */
export async function useApiHome(config: Record<string, unknown> = {}, appId = 'api-test'): Promise<ApiHome> {
  await closeAsync();
  const dir = await makeTempDir('bgtransfer-api-');
  const home = join(dir.path, 'home');
  process.env.BGTRANSFER_HOME = home;
  process.env.BGTRANSFER_HOST = 'inproc';
  process.env.BGTRANSFER_APP_ID = appId;
  if (Object.keys(config).length > 0) {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(home, { recursive: true, mode: 0o700 });
    await writeFile(join(home, 'config.json'), JSON.stringify(config));
  }
  return {
    home,
    dir: dir.path,
    async cleanup() {
      await closeAsync();
      await dir.cleanup();
    },
  };
}

/** Reads a whole Readable into a string. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}
