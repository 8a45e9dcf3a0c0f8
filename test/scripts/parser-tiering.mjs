// A plain-JavaScript process on the built package for test/perf/parser-tiering.test.ts, run with V8's
// `--trace-wasm-compilation-times` (each WebAssembly function compile is a line on stdout naming
// Liftoff or TurboFan). No TypeScript loader: it would bring WebAssembly of its own.
// argv: MODE [REQUESTS]
//
// Every mode first sends REQUESTS GETs (default 2,000) through an Agent of dist/net/undici-parts.js to
// a node:http server in this process, so that undici's HTTP parser, if V8 may, gets hot enough to be
// recompiled by TurboFan. Then:
// - `parser`: nothing more (the only WebAssembly in the process is undici's parser);
// - `own`: compiles a small module of its own and calls its loop until it is hot;
// - `host`: the same as `own`, after applyHostFlags() (the transfer host's process-wide flags).
// Prints `done` when finished.
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { applyHostFlags } from '../../dist/ipc/host-flags.js';
import { newAgent } from '../../dist/net/undici-parts.js';

// undici's request API, through require: an ESM import of CommonJS would run Node's own WebAssembly lexer.
const { request } = createRequire(import.meta.url)('undici');
const [mode = 'parser', requests = '2000'] = process.argv.slice(2);
if (mode === 'host') applyHostFlags([]);

const body = Buffer.alloc(16 * 1024, 'a');
const server = createServer((_request, response) => {
  response.setHeader('X-Filler', 'b'.repeat(200));
  response.end(body);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/`;
const agent = newAgent({ connections: 2 });
for (let index = 0; index < Number(requests); index++) {
  const response = await request(url, { dispatcher: agent });
  await response.body.dump();
}
await agent.close();
server.close();

if (mode === 'own' || mode === 'host') {
  // (func (export "sum") (param i32) (result i32) (local i32) loop … br_if … end local.get 1): 0 + 1 + … + n-1.
  const bytes = Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x03, 0x02, 0x01,
    0x00, 0x07, 0x07, 0x01, 0x03, 0x73, 0x75, 0x6d, 0x00, 0x00, 0x0a, 0x1b, 0x01, 0x19, 0x01, 0x01, 0x7f, 0x03, 0x40,
    0x20, 0x00, 0x41, 0x01, 0x6b, 0x22, 0x00, 0x20, 0x01, 0x6a, 0x21, 0x01, 0x20, 0x00, 0x0d, 0x00, 0x0b, 0x20, 0x01,
    0x0b,
  ]);
  const { instance } = await WebAssembly.instantiate(bytes);
  for (let round = 0; round < 200; round++) instance.exports.sum(100_000);
}
// TurboFan compiles on a background thread: give a recompilation that was triggered time to finish.
await sleep(1_000);
console.log('done');
