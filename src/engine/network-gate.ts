import {
  BackgroundTransferCostPolicy,
  type BackgroundTransferStatus,
  BackgroundTransferStatus as S,
} from '../core/enums.ts';

/** What the engine needs to know of the network (src/net/network-monitor.ts provides it). */
export interface NetworkStateSource {
  current(): { connected: boolean; metered: boolean };
  onChange(listener: (state: { connected: boolean; metered: boolean }) => void): () => void;
  /**
   * Resolves once `current()` holds a real reading (the D-Bus monitor reads the bus in the background);
   * until then no operation is judged or started, so none is sent without connectivity (R50) or shown a
   * status it does not have. Absent: known from the start. Never rejects.
   */
  readonly settled?: Promise<void>;
}

export type Gate = 'allowed' | 'noNetwork' | 'costed';

/**
 * May an operation with this cost policy transfer now? R50: no connectivity → wait (pausedNoNetwork).
 * R52–R54: on a metered network `unrestrictedOnly` waits (pausedCostedNetwork); `default` and `always`
 * go on (R56's roaming/data-limit rows have no Linux equivalent).
 */
export function networkGate(
  costPolicy: BackgroundTransferCostPolicy,
  state: { connected: boolean; metered: boolean },
): Gate {
  if (!state.connected) return 'noNetwork';
  if (state.metered && costPolicy === BackgroundTransferCostPolicy.unrestrictedOnly) return 'costed';
  return 'allowed';
}

/** A monitor for when none is configured: always connected and unmetered. */
export const ALWAYS_CONNECTED: NetworkStateSource = {
  current: () => ({ connected: true, metered: false }),
  onChange: () => () => undefined,
};

/** The status-only event that moves an operation in `status` to where `gate` says it belongs, if any. */
export function gateEvent(
  gate: Gate,
  status: BackgroundTransferStatus,
): 'loseNetwork' | 'meteredBlocked' | 'networkAllowed' | null {
  const runnable = status === S.idle || status === S.running;
  if (gate === 'noNetwork' && (runnable || status === S.pausedCostedNetwork)) return 'loseNetwork';
  if (gate === 'costed' && (runnable || status === S.pausedNoNetwork)) return 'meteredBlocked';
  if (gate === 'allowed' && (status === S.pausedNoNetwork || status === S.pausedCostedNetwork)) return 'networkAllowed';
  return null;
}
