import { connect } from 'node:net';
import { PROTOCOL_VERSION } from '../../src/ipc/protocol.ts';

/**
 * Raw NDJSON frames on a host socket, for tests that play a client which does not go through
 * SocketPort (garbage, forged fields): what the host must survive and refuse.
 */

export interface RawReply {
  id: number | null;
  ok: boolean;
  result?: unknown;
  error?: { code: string; message: string };
}

/** One request frame as a line (without its newline). */
export function request(id: number, method: string, params: unknown): string {
  return JSON.stringify({ v: PROTOCOL_VERSION, id, method, params });
}

/** Sends lines on a raw connection; collects the replies until the host closes it or goes quiet. */
export function rawSession(path: string, lines: string[]): Promise<{ replies: RawReply[]; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const replies: RawReply[] = [];
    let buffered = '';
    let quiet: NodeJS.Timeout | undefined;
    const finish = (closed: boolean): void => {
      clearTimeout(quiet);
      socket.destroy();
      resolve({ replies, closed });
    };
    socket.on('error', () => undefined); // EPIPE/ECONNRESET while an oversized line is refused
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const part of parts) replies.push(JSON.parse(part) as RawReply);
      clearTimeout(quiet);
      quiet = setTimeout(() => finish(false), 300);
    });
    socket.once('close', () => finish(true));
    socket.once('connect', () => {
      for (const line of lines) socket.write(`${line}\n`);
      quiet = setTimeout(() => finish(false), 1_000);
    });
  });
}
