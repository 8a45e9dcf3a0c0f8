import type { FaultProxy, ProxyConnection } from './fault-proxy.ts';

/** When a stalled connection stopped forwarding (performance.now()): see watchConnections. */
export const stalledAt = new WeakMap<ProxyConnection, number>();

/**
 * Hooks on the proxy's connection records. fault-proxy.ts has no events, but its records are live
 * objects in a public array that the proxy pushes to and updates field by field, so each new record's
 * fields are watched with accessors:
 * - `fault`: the listener moves the upload on to its next fault at once — the proxy gives a connection
 *   its plan when it accepts it, so the switch must come before the client's next connection;
 * - `upstreamBytes` reaching a stall limit: the moment the link stopped (the record's `faultAt` comes
 *   later, once the last forwarded piece has been flushed to a server that may be slow to read).
 */
export function watchConnections(proxy: FaultProxy, onFault: (connection: ProxyConnection) => void): void {
  const records = proxy.connections;
  const push = records.push.bind(records);
  records.push = (...added: ProxyConnection[]): number => {
    for (const record of added) {
      let fault = record.fault;
      Object.defineProperty(record, 'fault', {
        enumerable: true,
        get: () => fault,
        set: (value: ProxyConnection['fault']) => {
          fault = value;
          if (value !== null) onFault(record);
        },
      });
      const stallLimit = record.plan.stallAfterUpstreamBytes;
      let forwarded = record.upstreamBytes;
      Object.defineProperty(record, 'upstreamBytes', {
        enumerable: true,
        get: () => forwarded,
        set: (value: number) => {
          forwarded = value;
          if (stallLimit !== undefined && value >= stallLimit && !stalledAt.has(record)) {
            stalledAt.set(record, performance.now());
          }
        },
      });
    }
    return push(...added);
  };
}
