import { TransferError } from '../core/errors.ts';
import type { OperationSnapshot } from '../core/snapshot.ts';
import { MAX_LIST_PAGE } from './frames.ts';
import type { ParamsOf, ResultOf } from './methods.ts';

/**
 * An enumeration as a stream of pages (listPage calls), in queue order. Each page's successor is asked
 * for as soon as the page arrives, before it is handed on: the host builds page k+1 while the app
 * handles page k (on two cores, the two overlap). Pages are MAX_LIST_PAGE operations (about 1.5 MB of
 * JSON): 10,000 operations cross in 5 frames, and neither side holds more than two pages of them.
 */

/** How a port sends the two enumeration calls. */
export interface ListCalls {
  page(params: ParamsOf<'listPage'>): Promise<ResultOf<'listPage'>>;
  /** The single-reply list, for a host that predates listPage. */
  whole(params: ParamsOf<'list'>): Promise<ResultOf<'list'>>;
}

export const LIST_PAGE_SIZE = MAX_LIST_PAGE;
/**
 * Pages for a reader that uses each page and drops it (`bgtransfer list --json` prints it): about 100 KB
 * a frame, under V8's large-object size, so the frame's buffer and string are not fresh memory each
 * time, and less is alive at once. For 10,000 operations the CLI used about a quarter less CPU and
 * 60 instead of about 78 MiB; the host about 50 ms more (40 pages instead of 5). An enumeration that
 * keeps every operation (listAll) gained nothing from small pages and keeps LIST_PAGE_SIZE.
 */
export const STREAM_PAGE_SIZE = 250;

export async function* listPages(
  calls: ListCalls,
  { filter, direction }: ParamsOf<'list'>,
  limit = LIST_PAGE_SIZE,
): AsyncGenerator<OperationSnapshot[], void, undefined> {
  const ask = (after: ResultOf<'listPage'>['next']): Promise<ResultOf<'listPage'>> =>
    calls.page({ filter, after, limit, direction });
  let pending = ask(null);
  let page: ResultOf<'listPage'>;
  try {
    page = await pending;
  } catch (error) {
    // A host started by an older release knows only the single-reply list.
    if (!isUnknownMethod(error)) throw error;
    yield await calls.whole({ filter, direction });
    return;
  }
  for (;;) {
    const next = page.next;
    // Asked before this page is handed on; a rejection is read when the loop gets to it.
    if (next !== null) {
      pending = ask(next);
      pending.catch(() => undefined);
    }
    yield page.operations;
    if (next === null) return;
    page = await pending;
  }
}

/** All pages in one array (the API's enumerations build every operation object anyway). */
export async function listAll(calls: ListCalls, params: ParamsOf<'list'>): Promise<OperationSnapshot[]> {
  const all: OperationSnapshot[] = [];
  for await (const page of listPages(calls, params)) {
    for (const snapshot of page) all.push(snapshot);
  }
  return all;
}

function isUnknownMethod(error: unknown): boolean {
  return (
    error instanceof TransferError && error.code === 'BT_ERR_IPC_PROTOCOL' && error.message.includes('unknown method')
  );
}
