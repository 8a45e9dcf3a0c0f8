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
 * reading, with ADDRESS as the system bus).
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
} else {
  throw new Error(`unknown mode ${mode}`);
}

console.log(JSON.stringify({ modules: recordedModules(logFile) }));
