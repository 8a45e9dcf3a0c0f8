import { TransferError } from '../core/errors.ts';
import { nodeCrypto } from '../core/lazy-builtins.ts';
import type { CompletionTask } from '../core/snapshot.ts';
import { currentAppId, getPort } from './port-provider.ts';

/**
 * BackgroundTransferCompletionGroup (R78–R83). Windows registers a background task
 * with the group's trigger; here the group names the task itself — a program the transfer host runs
 * once every member upload has finished, success or failure (R79), even when the app that created
 * them has exited. The task gets the group id in BGTRANSFER_COMPLETION_GROUP and, on standard input,
 * JSON `{ group, uploads: [{ guid, status, statusCode, error }] }` (R82: the trigger details' Uploads).
 */
export class BackgroundTransferCompletionGroup {
  /** Stable id of the group (the store's key). */
  readonly id: string = nodeCrypto().randomUUID();
  #task: CompletionTask | null;
  #enabled = false;
  /** Members being started: enable() waits for them, so the host knows every member first. */
  readonly #pendingStarts = new Set<Promise<unknown>>();

  /** @param task the program to run (no shell): `{ command, args?, cwd? }`. */
  constructor(task?: { command: string; args?: string[]; cwd?: string }) {
    this.#task = task ? normalize(task) : null;
  }

  get task(): CompletionTask | null {
    return this.#task;
  }
  set task(task: { command: string; args?: string[]; cwd?: string } | null) {
    if (this.#enabled) throw new TransferError('BT_ERR_ILLEGAL_STATE', 'the completion group is already enabled (R80)');
    this.#task = task ? normalize(task) : null;
  }

  get isEnabled(): boolean {
    return this.#enabled;
  }

  /**
   * R80: declares the set of member uploads complete. Must be called, or the task never runs; a second
   * call throws, and no upload can join afterwards.
   */
  enable(): void {
    if (this.#enabled) throw new TransferError('BT_ERR_ILLEGAL_STATE', 'enable() was already called (R80)');
    if (!this.#task)
      throw new TransferError('BT_ERR_INVALID_ARGUMENT', 'a completion group needs a task before enable()');
    this.#enabled = true;
    const task = this.#task;
    const appId = currentAppId();
    this.enabled = Promise.allSettled([...this.#pendingStarts])
      .then(() => getPort())
      .then((port) => port.call('enableCompletionGroup', appId, { group: { id: this.id, task } }))
      .then(() => undefined);
    this.enabled.catch(() => undefined);
  }

  /** Settles when the host has recorded the enable (useful before exiting right after enable()). */
  enabled: Promise<void> = Promise.resolve();

  /** @internal R80: no member may be added after enable(). */
  assertOpenForMembers(): void {
    if (this.#enabled) {
      throw new TransferError('BT_ERR_ILLEGAL_STATE', 'the completion group is enabled: no upload can join it (R80)');
    }
  }

  /** @internal */
  trackStart(started: Promise<unknown>): void {
    this.#pendingStarts.add(started);
    const forget = () => this.#pendingStarts.delete(started);
    started.then(forget, forget);
  }
}

function normalize(task: { command: string; args?: string[]; cwd?: string }): CompletionTask {
  if (typeof task.command !== 'string' || task.command.length === 0) {
    throw new TransferError('BT_ERR_INVALID_ARGUMENT', 'a completion task needs a command');
  }
  const args = task.args ?? [];
  if (!Array.isArray(args) || !args.every((arg) => typeof arg === 'string')) {
    throw new TransferError('BT_ERR_INVALID_ARGUMENT', 'completion task args must be strings');
  }
  return { command: task.command, args: [...args], cwd: task.cwd ?? null };
}
