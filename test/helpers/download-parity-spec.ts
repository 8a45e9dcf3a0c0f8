import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { BackgroundTransferStatus } from '../../src/core/enums.ts';
import { DEFAULT_REQUEST_EXTRAS, type RequestExtras } from '../../src/core/operation-extras.ts';
import type { OperationSnapshot, OperationSpec } from '../../src/core/snapshot.ts';
import { closeAsync } from '../../src/index.ts';
import { stopHost } from '../../src/ipc/host-control.ts';
import { type ApiHome, useApiHome } from './api-home.ts';
import { startPrivateBus } from './dbus-session.ts';
import type { EngineHarness } from './engine-harness.ts';
import { type FakeNotificationService, startFakeNotificationService } from './fake-notification-service.ts';

let resultSerial = 0;

/** A GET download for the engine harness, into a fresh result file under `dir`. */
export function downloadSpec(
  h: EngineHarness,
  dir: string,
  uri: string,
  overrides: Partial<OperationSpec> = {},
  extras: Partial<RequestExtras> = {},
): { spec: OperationSpec; resultPath: string } {
  const resultPath = join(dir, `result-${++resultSerial}.bin`);
  const spec: OperationSpec = {
    ...h.spec({ sourcePath: '', requestedUri: uri }),
    method: 'GET',
    sourcePath: null,
    download: { resultPath },
    ...overrides,
    extras: { ...DEFAULT_REQUEST_EXTRAS, body: { kind: 'none' }, ...extras },
  };
  return { spec, resultPath };
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Runs `body` with this process's API on a fresh home whose transfer host is a real process
 * (BGTRANSFER_HOST=auto), then stops that host and closes the API, whatever happened.
 */
export async function withApiHost(
  appId: string,
  config: Record<string, unknown>,
  body: (home: ApiHome) => Promise<void>,
): Promise<void> {
  const home = await useApiHome(config, appId);
  process.env.BGTRANSFER_HOST = 'auto';
  try {
    await body(home);
  } finally {
    await stopHost(home.home).catch(() => false);
    await closeAsync();
    await home.cleanup();
  }
}

/** A snapshot that will not change any more on its own: completed or failed. */
export function ended(snapshot: OperationSnapshot): boolean {
  return (
    snapshot.progress.status === BackgroundTransferStatus.completed ||
    snapshot.progress.status === BackgroundTransferStatus.error
  );
}

/** 'done' or 'failed' once the operation's startAsync settled. */
export function outcome(operation: { startAsync(): PromiseLike<unknown> }): Promise<'done' | 'failed'> {
  return Promise.resolve(operation.startAsync()).then(
    () => 'done' as const,
    () => 'failed' as const,
  );
}

/**
 * Runs `body` with a private session bus holding a fake org.freedesktop.Notifications, named in this
 * process's DBUS_SESSION_BUS_ADDRESS (what a host started from here inherits); restores it afterwards.
 */
export async function withNotificationService(
  body: (service: FakeNotificationService) => Promise<void>,
): Promise<void> {
  const bus = await startPrivateBus();
  const service = await startFakeNotificationService(bus.address);
  const previous = process.env.DBUS_SESSION_BUS_ADDRESS;
  process.env.DBUS_SESSION_BUS_ADDRESS = bus.address;
  try {
    await body(service);
  } finally {
    if (previous === undefined) delete process.env.DBUS_SESSION_BUS_ADDRESS;
    else process.env.DBUS_SESSION_BUS_ADDRESS = previous;
    await service.stop();
    await bus.stop();
  }
}
