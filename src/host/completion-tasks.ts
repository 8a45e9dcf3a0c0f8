import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { isTerminalStatus } from '../core/enums.ts';
import type { Logger } from '../core/logger.ts';
import type { CompletionTask } from '../core/snapshot.ts';
import type { OperationStore } from '../store/operation-store.ts';

/**
 * Runs completion groups' tasks (R78–R83): once a group is enabled and every member operation has
 * ended — completed, failed or canceled (R79) — its task runs exactly once (R81), from the transfer
 * host, whether or not the app that created the uploads still runs. The task receives the members'
 * results on standard input (R82) and its output goes to `$BGTRANSFER_HOME/tasks/<group>.log`.
 */
export class CompletionTasks {
  readonly #store: OperationStore;
  readonly #home: string;
  readonly #log: Logger;
  /** Tasks running now, so close() can wait for them. */
  readonly #running = new Set<Promise<void>>();

  constructor(store: OperationStore, home: string, log: Logger) {
    this.#store = store;
    this.#home = home;
    this.#log = log;
  }

  /** R80: records and enables the group, then fires it at once if its members already ended. */
  enable(appId: string, id: string, task: CompletionTask): void {
    if (!this.#store.getCompletionGroup(id)) this.#store.createCompletionGroup({ id, appId, task });
    this.#store.enableCompletionGroup(id);
    this.check(id);
  }

  /** Called when an operation of the group ended (or at start-up for every pending group). */
  check(id: string): void {
    const group = this.#store.getCompletionGroup(id);
    if (!group?.enabled || group.firedAtMs !== null) return;
    const members = this.#store.listCompletionGroupMembers(id);
    if (!members.every((member) => isTerminalStatus(member.progress.status))) return;
    if (!this.#store.markCompletionGroupFired(id)) return;
    const details = {
      group: id,
      uploads: members.map((member) => ({
        guid: member.guid,
        status: member.progress.status,
        statusCode: member.response?.statusCode ?? null,
        error: member.error?.code ?? null,
      })),
    };
    const run = this.#run(id, group.task, JSON.stringify(details));
    this.#running.add(run);
    void run.finally(() => this.#running.delete(run));
  }

  /** Groups enabled before a host restart whose members ended meanwhile. */
  checkPending(): void {
    for (const group of this.#store.listPendingCompletionGroups()) this.check(group.id);
  }

  /** Tasks running now (an idle host does not exit under one). */
  get runningCount(): number {
    return this.#running.size;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#running]);
  }

  async #run(id: string, task: CompletionTask, input: string): Promise<void> {
    const dir = join(this.#home, 'tasks');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const logFd = openSync(join(dir, `${id}.log`), 'a', 0o600);
    try {
      await new Promise<void>((resolve) => {
        const child = spawn(task.command, task.args, {
          cwd: task.cwd ?? this.#home,
          env: { ...process.env, BGTRANSFER_COMPLETION_GROUP: id },
          stdio: ['pipe', logFd, logFd],
        });
        child.on('error', (error) => {
          this.#log.warn({ group: id, err: error }, 'completion task could not start');
          resolve();
        });
        child.on('exit', (code, signal) => {
          this.#log.info({ group: id, code, signal }, 'completion task ended');
          resolve();
        });
        // A task that does not read its input closes the pipe early; that is its business.
        child.stdin?.on('error', () => undefined);
        child.stdin?.end(input);
      });
    } finally {
      closeSync(logFd);
    }
  }
}
