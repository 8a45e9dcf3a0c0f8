/**
 * Prints the code createUpload throws for a file (or "ok"): used to test files another OS user cannot
 * read, since root reads everything. argv: FILE [UID]. Started as root, it loads its
 * modules first and then drops to UID (e.g. 65534, nobody), so the checkout's own permissions do not
 * matter, only the file's.
 */
import { BackgroundUploader } from '../../src/index.ts';

const uid = Number(process.argv[3]);
if (Number.isInteger(uid) && uid > 0) {
  process.setgid?.(uid);
  process.setuid?.(uid);
}

try {
  new BackgroundUploader().createUpload('http://127.0.0.1:1/x', process.argv[2] ?? '');
  console.log('ok');
} catch (error) {
  console.log((error as { code?: string }).code ?? String(error));
}
