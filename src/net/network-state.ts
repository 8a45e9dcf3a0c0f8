/**
 * What the engine needs to know about the network (R50: no attempts while there is no connectivity;
 * R52–R54: the cost policy decides whether a metered network may be used), and how it is derived from
 * NetworkManager's properties. Pure functions, no I/O.
 */

export interface NetworkState {
  connected: boolean;
  metered: boolean;
  /**
   * - `networkmanager`: both flags come from NetworkManager.
   * - `forced`: `connected` comes from NetworkManager, `metered` from the `metered: yes|no` setting.
   * - `assumed`: NetworkManager is not reachable; `connected` is assumed true and `metered` is the
   *   setting (`yes` → true, otherwise false).
   */
  source: 'networkmanager' | 'forced' | 'assumed';
}

/** The `metered` setting of config.json (docs/api/config.md). */
export type MeteredSetting = 'auto' | 'yes' | 'no';

/** The three NetworkManager properties read, as their raw uint32 values (absent property → 0, unknown). */
export interface NetworkManagerSnapshot {
  /** NM_STATE: 0 unknown, 10 asleep, 20 disconnected, 30 disconnecting, 40 connecting, 50 connected-local, 60 connected-site, 70 connected-global. */
  state: number;
  /** NM_CONNECTIVITY: 0 unknown, 1 none, 2 portal, 3 limited, 4 full. */
  connectivity: number;
  /** NM_METERED: 0 unknown, 1 yes, 2 no, 3 guess-yes, 4 guess-no. */
  metered: number;
}

const NM_STATE_UNKNOWN = 0;
const NM_STATE_CONNECTED_LOCAL = 50;
const NM_CONNECTIVITY_NONE = 1;
const NM_METERED_YES = 1;
const NM_METERED_GUESS_YES = 3;

/**
 * Connected (R50) unless NetworkManager says otherwise:
 * - `State` below 50 (asleep, disconnected, disconnecting, connecting) → not connected;
 * - `Connectivity` 1 (none: no active connection with a default route) → not connected;
 * - everything else is connected, including connected-local/-site and the portal/limited connectivity
 *   results: the upload target may well be on the LAN, and a wrong "offline" would stall transfers with
 *   no attempt at all (R50), while a wrong "online" only costs a failed attempt and the normal retry.
 * - `State` 0 (unknown) does not block either: NetworkManager itself does not know.
 */
export function isConnected(snapshot: NetworkManagerSnapshot): boolean {
  const stateAllows = snapshot.state === NM_STATE_UNKNOWN || snapshot.state >= NM_STATE_CONNECTED_LOCAL;
  return stateAllows && snapshot.connectivity !== NM_CONNECTIVITY_NONE;
}

/** Metered when NetworkManager says yes or guesses yes (1, 3); unknown (0) counts as not metered. */
export function isMetered(snapshot: NetworkManagerSnapshot): boolean {
  return snapshot.metered === NM_METERED_YES || snapshot.metered === NM_METERED_GUESS_YES;
}

/** Combines NetworkManager's view (undefined: not reachable) with the `metered` setting. */
export function deriveNetworkState(
  snapshot: NetworkManagerSnapshot | undefined,
  setting: MeteredSetting,
): NetworkState {
  if (snapshot === undefined) return { connected: true, metered: setting === 'yes', source: 'assumed' };
  if (setting !== 'auto') return { connected: isConnected(snapshot), metered: setting === 'yes', source: 'forced' };
  return { connected: isConnected(snapshot), metered: isMetered(snapshot), source: 'networkmanager' };
}

/** Whether listeners must hear about the move from `a` to `b`: only (connected, metered) count. */
export function networkStateChanged(a: NetworkState, b: NetworkState): boolean {
  return a.connected !== b.connected || a.metered !== b.metered;
}

export function describeNetworkState(state: NetworkState): string {
  return `${state.connected ? 'connected' : 'not connected'}, ${state.metered ? 'metered' : 'not metered'} (${state.source})`;
}
