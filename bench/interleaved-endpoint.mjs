// What the two interleaved 'auto' benches (auto-interleaved.mjs, in-process; host-auto-interleaved.mjs,
// through a host) upload and to where: `count` files of 4 KiB in a fresh directory, and one plain
// node:http endpoint in the bench's process that answers a PUT with 201 and anything else with 200
// (no Tus-Version: 'auto' learns it is plain), counting requests by method.
// Plain JavaScript: both benches run under plain `node` against a built tree.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function interleavedEndpoint(prefix, count) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const bytes = Buffer.alloc(4096, 7);
  for (let index = 0; index < count; index++) writeFileSync(join(dir, `f${index}.bin`), bytes);
  const methods = new Map();
  const server = createServer((req, res) => {
    methods.set(req.method, (methods.get(req.method) ?? 0) + 1);
    req.resume();
    req.on('end', () => res.writeHead(req.method === 'PUT' ? 201 : 200, { 'Content-Length': '0' }).end());
  });
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  return {
    dir,
    methods,
    url: `http://127.0.0.1:${server.address().port}`,
    close() {
      server.closeAllConnections();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
