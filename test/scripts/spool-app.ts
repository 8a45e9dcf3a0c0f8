/**
 * An app process for test/integration/stream-spools.test.ts: stream uploads whose spool files must not
 * outlive what owns them. BGTRANSFER_HOME, BGTRANSFER_HOST and BGTRANSFER_APP_ID come from the test.
 *
 *   create URL        → createUploadFromStreamAsync(URL, a Node Readable), never started; prints
 *                       `CREATED {"spools":[names in the spool directory]}` and exits at once.
 *   create-wait URL   → the same, then stays alive (until killed) holding the unstarted upload.
 *   paused URL        → creates, starts, pauses after the first progress report; prints
 *                       `PAUSED {"guid":…,"spools":[…]}` and exits.
 *   list              → opens the engine (lists the app's uploads), prints `LISTED {"spools":[…]}`.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BackgroundUploader, closeAsync, type UploadOperation } from '../../src/index.ts';

const [mode, url = ''] = process.argv.slice(2);
const spoolDir = join(process.env.BGTRANSFER_HOME ?? '', 'spool');
const spools = (): string[] => readdirSync(spoolDir).sort();

if (mode === 'list') {
  const uploads = await BackgroundUploader.getCurrentUploadsAsync();
  console.log(`LISTED ${JSON.stringify({ uploads: uploads.size, spools: spools() })}`);
  await closeAsync();
  process.exit(0);
}

const uploader = new BackgroundUploader();
uploader.method = 'PUT';
uploader.resumeProtocol = 'none';
const body = Readable.from([Buffer.alloc(256 * 1024, 7), Buffer.from('end of stream')]);
const operation = await uploader.createUploadFromStreamAsync(url, body);

if (mode === 'create' || mode === 'create-wait') {
  console.log(`CREATED ${JSON.stringify({ spools: spools() })}`);
  if (mode === 'create') process.exit(0);
  setInterval(() => undefined, 1_000);
} else if (mode === 'paused') {
  const started = new Promise<UploadOperation>((resolve) => {
    operation.startAsync().progress(resolve);
  });
  await (await started).pause();
  console.log(`PAUSED ${JSON.stringify({ guid: operation.guid, spools: spools() })}`);
  process.exit(0);
} else {
  console.error('usage: spool-app.ts create|create-wait|paused URL');
  process.exit(2);
}
