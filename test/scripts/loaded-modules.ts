import { readFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

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
 * reading, with ADDRESS as the system bus).
 */

const [mode, logFile, busAddress] = process.argv.slice(2);
if (mode === undefined || logFile === undefined) throw new Error('usage: loaded-modules.ts MODE LOG_FILE');

// Module hooks run on their own thread; a synchronous append keeps every resolution in the file
// by the time the awaited import below has settled.
const hooks = `
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(${JSON.stringify(logFile)}, result.url + '\\n');
  return result;
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);

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
} else {
  throw new Error(`unknown mode ${mode}`);
}

const esm = readFileSync(logFile, 'utf8').split('\n').filter(Boolean);
const cjs = Object.keys(createRequire(import.meta.url).cache).map((path) => `file://${path}`);
console.log(JSON.stringify({ modules: [...new Set([...esm, ...cjs])] }));
