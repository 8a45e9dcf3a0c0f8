import type { WebErrorStatus } from '../core/enums.ts';
import { TransferError } from '../core/errors.ts';

/**
 * An array that checks each value put in it is a WebErrorStatus (BT_ERR_INVALID_ARGUMENT at once, where
 * the app wrote it) and calls `onChange` after every change, so DownloadOperation can send a list the
 * app edits after startAsync() to the engine. Windows' RecoverableWebErrorStatuses is a live vector too.
 */
export function watchedStatuses(initial: WebErrorStatus[], onChange: () => void): WebErrorStatus[] {
  return new Proxy(initial, {
    set(target, key, value, receiver) {
      if (typeof key === 'string' && /^(?:0|[1-9][0-9]*)$/.test(key)) {
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 1000) {
          throw new TransferError('BT_ERR_INVALID_ARGUMENT', `not a WebErrorStatus: ${String(value)}`);
        }
      }
      const done = Reflect.set(target, key, value, receiver);
      onChange();
      return done;
    },
    deleteProperty(target, key) {
      const done = Reflect.deleteProperty(target, key);
      onChange();
      return done;
    },
  });
}
