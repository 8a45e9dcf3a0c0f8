import { recordedModules, recordModules } from './module-record.mjs';

/**
 * Does one thing with the package and prints which modules that loaded, as one JSON line
 * `{"modules":[…]}` (file URLs of every ES module resolved and every CommonJS module required).
 * Used by test/integration/light-import.test.ts.
 *
 *   node --conditions=source --import tsx test/scripts/loaded-modules.ts MODE LOG_FILE
 *
 * MODE: `import` (import 'bgtransfer'), `socket-port` / `inproc-port` (open the port an app's first
 * call opens, BGTRANSFER_HOST=auto / inproc), `version` (run the CLI with --version), `cli ARGS…` (run
 * the CLI with ARGS to its end), `network-monitor ADDRESS` (the engine's network monitor's first
 * reading, with ADDRESS as the system bus), `host` (the transfer host in this process, as
 * ipc/host-entry.ts runs it, serving an app in this process too that uploads a file through it and
 * lists its uploads; BGTRANSFER_HOME must be set).
 */

const [mode, logFile, busAddress] = process.argv.slice(2);
if (mode === undefined || logFile === undefined) throw new Error('usage: loaded-modules.ts MODE LOG_FILE');

recordModules(logFile);

if (mode === 'import') {
  await import('bgtransfer');
} else if (mode === 'socket-port' || mode === 'inproc-port') {
  process.env.BGTRANSFER_HOST = mode === 'socket-port' ? 'auto' : 'inproc';
  const { closeAsync } = await import('bgtransfer');
  const { getPort } = await import('../../src/api/port-provider.ts');
  await getPort();
  await closeAsync();
} else if (mode === 'version') {
  process.argv = [process.argv[0] ?? 'node', 'bgtransfer', '--version'];
  await import('../../src/cli/main.ts');
} else if (mode === 'cli') {
  // The command line after LOG_FILE, run to its end (main.ts sets the exit code).
  process.argv = [process.argv[0] ?? 'node', 'bgtransfer', ...process.argv.slice(4)];
  await import('../../src/cli/main.ts');
} else if (mode === 'network-monitor') {
  const { createNetworkMonitor } = await import('../../src/net/network-monitor.ts');
  const monitor = await createNetworkMonitor({ metered: 'auto', env: { DBUS_SYSTEM_BUS_ADDRESS: busAddress } });
  console.log(JSON.stringify({ network: monitor.current() }));
  await monitor.close();
} else if (mode === 'host') {
  await serveOneUpload(process.env.BGTRANSFER_HOME ?? '');
} else {
  throw new Error(`unknown mode ${mode}`);
}

console.log(JSON.stringify({ modules: recordedModules(logFile) }));
// The host of the `host` mode runs until stopped.
process.exit(0);

async function serveOneUpload(home: string): Promise<void> {
  const { existsSync, mkdirSync, writeFileSync } = await import('node:fs');
  const { createServer } = await import('node:http');
  const { join } = await import('node:path');
  const { setTimeout: sleep } = await import('node:timers/promises');
  const { hostSocketPath } = await import('../../src/core/paths.ts');
  const { runHost } = await import('../../src/ipc/host-process.ts');
  void runHost({ home });
  // The app must find this host listening, or its launcher would start another one.
  while (!existsSync(hostSocketPath(home))) await sleep(20);
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.end('stored'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const files = join(home, 'files');
  mkdirSync(files, { recursive: true });
  const file = join(files, 'upload.bin');
  writeFileSync(file, 'x'.repeat(1000));
  process.env.BGTRANSFER_HOST = 'auto';
  const { BackgroundUploader, closeAsync } = await import('bgtransfer');
  const uploader = new BackgroundUploader();
  uploader.method = 'PUT';
  const operation = await uploader.createUpload(`http://127.0.0.1:${port}/upload`, file).startAsync();
  const uploads = await BackgroundUploader.getCurrentUploadsAsync();
  console.log(JSON.stringify({ status: operation.progress.status, uploads: uploads.length }));
  await closeAsync();
  server.close();
}
