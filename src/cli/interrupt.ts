/**
 * Runs `body` with a signal that the first Ctrl-C aborts: for `upload` and `watch`, Ctrl-C detaches and
 * the upload goes on in the host. A second Ctrl-C exits at once (130, as shells expect).
 */
export async function detachOnInterrupt<T>(body: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onInterrupt = (): void => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onInterrupt);
  try {
    return await body(controller.signal);
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}
