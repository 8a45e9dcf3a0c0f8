import { isTerminalStatus, BackgroundTransferStatus as S } from '../core/enums.ts';
import type { Logger } from '../core/logger.ts';
import type { OperationRecord } from '../store/operation-record.ts';
import type { OperationStore } from '../store/operation-store.ts';
import { notify } from './desktop-notifier.ts';

/**
 * Toast equivalents (R74–R76): the operations an uploader created with success/failure notifications
 * are judged together (R75). The failure notification is shown once, when the first of them fails or
 * is canceled; the success notification once all of them completed. Desktop notifications go through
 * org.freedesktop.Notifications on the session bus; no bus → nothing shown, no error (R76).
 */
export class UploadNotifications {
  readonly #store: OperationStore;
  readonly #log: Logger;
  readonly #env: NodeJS.ProcessEnv;

  constructor(store: OperationStore, log: Logger, env: NodeJS.ProcessEnv = process.env) {
    this.#store = store;
    this.#log = log;
    this.#env = env;
  }

  /** Called with the stored record of an operation that ended. */
  operationEnded(record: OperationRecord): void {
    const batch = record.extras.notificationBatchId;
    if (!batch) return;
    const failed = record.progress.status !== S.completed;
    if (failed) {
      const message = record.extras.failureNotification;
      // The store records the batch as notified, so a host restart cannot show it twice.
      if (this.#store.markBatchNotified(batch) && message) this.#show(message);
      return;
    }
    const members = this.#store.listNotificationBatch(batch);
    if (!members.every((member) => isTerminalStatus(member.progress.status))) return;
    if (!this.#store.markBatchNotified(batch)) return;
    const allCompleted = members.every((member) => member.progress.status === S.completed);
    const message = allCompleted ? record.extras.successNotification : record.extras.failureNotification;
    if (message) this.#show(message);
  }

  #show(message: { summary: string; body: string }): void {
    notify(message, { env: this.#env }).then(
      (shown) => this.#log.debug({ shown, summary: message.summary }, 'notification'),
      (error: unknown) => this.#log.warn({ err: error }, 'notification failed'),
    );
  }
}
