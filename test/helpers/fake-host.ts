import { createServer, type Server } from 'node:net';
import { hostSocketPath } from '../../src/ipc/protocol.ts';

/** One frame a client sent, with the connection it came on (1, 2, … in the order they were accepted). */
export interface FakeHostFrame {
  v: number;
  id: number;
  method: string;
  params: unknown;
  connection: number;
}

/** A reply as the fake host sends it; the frame's `id` is added. */
export type FakeHostReply =
  | { v: number; ok: true; result: unknown }
  | { v: number; ok: false; error: { code: string; message: string } };

/** What the fake host does with a frame: answers it, or drops the connection without a word. */
export type FakeHostAnswer = FakeHostReply | 'drop';

export interface FakeHost {
  close(): Promise<void>;
}

/**
 * A raw NDJSON server on a home's host socket that plays a transfer host frame by frame, for a client
 * meeting what a real host of this release never does: another protocol version, a release without
 * some method, a connection dropped in the middle of a call. Each line a client sends is parsed and
 * handed to `answer`; its reply goes back as one line.
 */
export async function startFakeHost(home: string, answer: (frame: FakeHostFrame) => FakeHostAnswer): Promise<FakeHost> {
  let connections = 0;
  const server: Server = createServer((socket) => {
    const connection = ++connections;
    let buffered = '';
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const frame = JSON.parse(line) as Omit<FakeHostFrame, 'connection'>;
        const reply = answer({ ...frame, connection });
        if (reply === 'drop') {
          socket.destroy();
          return;
        }
        const { v, ...rest } = reply;
        socket.write(`${JSON.stringify({ v, id: frame.id, ...rest })}\n`);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(hostSocketPath(home), () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { close: () => new Promise((resolve) => server.close(() => resolve())) };
}
