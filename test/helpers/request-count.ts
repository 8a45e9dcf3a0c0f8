import { Connection } from '../../src/ipc/host-connection.ts';

/**
 * Counts, by method, every request any socket client's Connection sends from now until `restore()`:
 * how tests see which requests a client made (a start with its watch, no unwatch) without a fake host.
 */
export function countConnectionRequests(): { sent: Map<string, number>; restore(): void } {
  const sent = new Map<string, number>();
  const original = Connection.prototype.request;
  Connection.prototype.request = function (this: Connection, ...args: Parameters<typeof original>) {
    sent.set(args[0], (sent.get(args[0]) ?? 0) + 1);
    return original.apply(this, args);
  } as typeof original;
  return {
    sent,
    restore() {
      Connection.prototype.request = original;
    },
  };
}
