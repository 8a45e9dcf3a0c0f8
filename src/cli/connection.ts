import { setTimeout as sleep } from 'node:timers/promises';
import { closeAsync, getPort } from '../api/port-provider.ts';
import { RECONNECT_POLICY, reconnectDelayMs } from '../ipc/reconnect-policy.ts';
import type { TransferPort } from '../ipc/transfer-port.ts';
import { CliError, ExitCode, errorCode } from './exit-codes.ts';

/** How long the CLI keeps trying to reach a (re)started host before it gives up with exit 3. */
const RECONNECT_TIMEOUT_MS = RECONNECT_POLICY.giveUpAfterMs;

/**
 * The CLI's link to the engine (through `getPort()`, so BGTRANSFER_HOST decides).
 * When the host goes away under an attached command, `replace()` drops the dead port and opens a new
 * one — which, with BGTRANSFER_HOST=auto, starts a new host that recovers the upload (R12, R38). Several
 * followers share one Connection, so only the first to notice a dead port reconnects.
 */
export class Connection {
  readonly #env: NodeJS.ProcessEnv;
  #port: Promise<TransferPort> | undefined;
  #replacing: Promise<TransferPort | null> | undefined;
  /** Told when the link is lost and when it is back (the views print it). */
  onNotice: (message: string) => void = () => undefined;

  constructor(env: NodeJS.ProcessEnv) {
    this.#env = env;
  }

  /** The current port; a failure to open it is exit 3 (exit 2 for a bad BGTRANSFER_HOST or config). */
  port(): Promise<TransferPort> {
    this.#port ??= openPort(this.#env);
    const port = this.#port;
    port.catch(() => {
      if (this.#port === port) this.#port = undefined;
    });
    return port;
  }

  /**
   * Replaces `broken` with a working port, retrying with back-off for up to 30 s; `probe` checks that the
   * new port answers, backing off by the clients' one reconnect policy. Resolves null if `signal` aborts
   * first (the user detached).
   */
  async replace(
    broken: TransferPort,
    reason: unknown,
    probe: (port: TransferPort) => Promise<unknown>,
    signal: AbortSignal,
  ): Promise<TransferPort | null> {
    const current = await this.#port?.catch(() => undefined);
    if (current && current !== broken) return current;
    this.#replacing ??= this.#reconnect(reason, probe, signal).finally(() => {
      this.#replacing = undefined;
    });
    return this.#replacing;
  }

  async #reconnect(
    reason: unknown,
    probe: (port: TransferPort) => Promise<unknown>,
    signal: AbortSignal,
  ): Promise<TransferPort | null> {
    this.onNotice(`lost the transfer host (${describe(reason)}); reconnecting…`);
    const deadline = performance.now() + RECONNECT_TIMEOUT_MS;
    let attempt = 0;
    let lastError: unknown = reason;
    while (!signal.aborted) {
      this.#port = undefined;
      await closeAsync().catch(() => undefined);
      try {
        const port = await getPort(this.#env);
        await probe(port);
        this.#port = Promise.resolve(port);
        this.onNotice('reconnected to the transfer host');
        return port;
      } catch (error) {
        if (errorCode(error) === 'BT_ERR_NOT_FOUND') throw error;
        lastError = error;
      }
      if (performance.now() > deadline) {
        throw new CliError(
          ExitCode.hostUnreachable,
          `the transfer host could not be reached again within ${RECONNECT_TIMEOUT_MS / 1000} s: ${describe(lastError)}`,
          errorCode(lastError),
          { cause: lastError },
        );
      }
      await sleep(reconnectDelayMs(attempt), undefined, { signal }).catch(() => undefined);
      attempt += 1;
    }
    return null;
  }
}

async function openPort(env: NodeJS.ProcessEnv): Promise<TransferPort> {
  try {
    return await getPort(env);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'BT_ERR_CONFIG_INVALID') throw error;
    throw new CliError(
      ExitCode.hostUnreachable,
      `cannot reach or start the transfer engine: ${describe(error)}`,
      code,
      { cause: error },
    );
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
