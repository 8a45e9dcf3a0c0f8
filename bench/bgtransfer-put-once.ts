import { BackgroundUploader } from '../src/index.ts';

/**
 * One PUT through bgtransfer's public API, written exactly as a user would write it, so the benchmark
 * measures what users get (engine, store, progress reporting and all), not a shortcut through internals.
 * Run by bench/measure-bgtransfer.ts with BGTRANSFER_HOST=inproc and a fresh BGTRANSFER_HOME.
 *
 *   node --conditions=source --import tsx bench/bgtransfer-put-once.ts FILE URL
 *
 * Prints one JSON line: {"type":"result",...} or {"type":"error",...}.
 */

const [file, url] = process.argv.slice(2);
if (file === undefined || url === undefined) {
  console.error('usage: bgtransfer-put-once.ts FILE URL');
  process.exit(2);
}

const started = process.hrtime.bigint();
try {
  const uploader = new BackgroundUploader();
  uploader.method = 'PUT';
  // A raw-body PUT, as curl sends it: no tus/IETF negotiation (the OPTIONS probe would be the first request).
  uploader.resumeProtocol = 'none';
  const operation = uploader.createUpload(url, file);
  await operation.startAsync();
  const transferSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  report({
    type: 'result',
    statusCode: operation.getResponseInformation()?.statusCode ?? null,
    bytesSent: operation.progress.bytesSent,
    transferSeconds,
  });
} catch (error) {
  const { code, message } = error as { code?: unknown; message?: unknown };
  report({ type: 'error', code: String(code ?? 'unknown'), message: String(message ?? error) });
  process.exitCode = 1;
}

/** The result line carries ru_maxrss: this process's own exact peak RSS (resourceUsage reports KiB). */
function report(fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ ...fields, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
}
