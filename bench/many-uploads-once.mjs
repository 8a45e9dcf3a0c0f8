// Many uploads to one endpoint through the built package's public API, in this process
// (BGTRANSFER_HOST=inproc), as a plain-JavaScript app would write them: for the cost of
// resumeProtocol 'auto' against 'none' (bench/summary-extra.ts).
// argv: PROTOCOL URL DIR COUNT (files DIR/f0.bin … f<COUNT-1>.bin). Prints `completed N` once all
// settled; exit code 0 only if every upload got a 2xx.
import { join } from 'node:path';
import { BackgroundUploader, closeAsync } from 'bgtransfer';

const [protocol, url, dir, count] = process.argv.slice(2);
const uploader = new BackgroundUploader();
uploader.method = 'PUT';
uploader.resumeProtocol = protocol;
let ok = 0;
try {
  const operations = [];
  for (let index = 0; index < Number(count); index++) {
    operations.push(uploader.createUpload(`${url}/u${index}`, join(dir, `f${index}.bin`)));
  }
  const settled = await Promise.allSettled(operations.map((operation) => operation.startAsync()));
  for (const [index, result] of settled.entries()) {
    const status = operations[index].getResponseInformation()?.statusCode;
    if (result.status === 'fulfilled' && status >= 200 && status < 300) ok += 1;
  }
  console.log(`completed ${ok}`);
  if (ok !== Number(count)) process.exitCode = 1;
} finally {
  await closeAsync();
}
