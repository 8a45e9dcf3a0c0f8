/**
 * The fake NetworkManager of test/helpers/fake-network-manager.ts as a process.
 * argv: BUS_ADDRESS [Name=value ...] (initial properties, e.g. `State=20 Metered=1`).
 * Prints `ready` once it owns org.freedesktop.NetworkManager. Then reads commands on stdin, one a line:
 *   set NAME VALUE [NAME VALUE ...]   → changes the properties, emits PropertiesChanged, prints `ok set`
 *   quit (or end of stdin)            → leaves the bus and exits 0
 * A bad command prints `error <reason>` and is otherwise ignored.
 */
import { createInterface } from 'node:readline';
import {
  type FakeNetworkManagerProperties,
  PROPERTY_NAMES,
  startFakeNetworkManager,
} from '../helpers/fake-network-manager.ts';

const [address, ...initialArgs] = process.argv.slice(2);
if (address === undefined || address === '') {
  console.error('usage: fake-network-manager.ts BUS_ADDRESS [State=70] [Connectivity=4] [Metered=4]');
  process.exit(2);
}

const initial = parsePairs(initialArgs.flatMap((arg) => arg.split('=')));
if (typeof initial === 'string') {
  console.error(initial);
  process.exit(2);
}
const fake = await startFakeNetworkManager(address, initial);
console.log('ready');

const input = createInterface({ input: process.stdin });
for await (const line of input) {
  const [command, ...args] = line.trim().split(/\s+/);
  if (command === 'quit') break;
  if (command === 'set') {
    const changes = parsePairs(args);
    if (typeof changes === 'string') {
      console.log(`error ${changes}`);
      continue;
    }
    await fake.set(changes);
    console.log('ok set');
  } else if (command !== '') {
    console.log(`error unknown command ${command}`);
  }
}
input.close();
await fake.stop();

/** `['State', '20', 'Metered', '1']` → `{ State: 20, Metered: 1 }`, or an error message. */
function parsePairs(words: string[]): Partial<FakeNetworkManagerProperties> | string {
  const result: Partial<FakeNetworkManagerProperties> = {};
  for (let i = 0; i < words.length; i += 2) {
    const name = PROPERTY_NAMES.find((candidate) => candidate === words[i]);
    const value = Number(words[i + 1]);
    if (name === undefined || !Number.isInteger(value) || value < 0)
      return `bad property pair ${words[i]} ${words[i + 1]}`;
    result[name] = value;
  }
  return result;
}
