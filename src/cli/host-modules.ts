import type * as HostControl from '../ipc/host-control.ts';
import type * as HostMain from '../ipc/host-process.ts';
import type * as ServiceUnit from '../ipc/service-unit.ts';

/**
 * The transfer host's modules, loaded only by the commands that need them (`host …`), so the other
 * commands start fast and never load the host's code (the server, the socket listener).
 */

export type HostStatusInfo = NonNullable<Awaited<ReturnType<typeof HostControl.hostStatus>>>;

export function loadHostControl(): Promise<typeof HostControl> {
  return import('../ipc/host-control.ts');
}

export function loadHostMain(): Promise<typeof HostMain> {
  return import('../ipc/host-process.ts');
}

export function loadHostService(): Promise<typeof ServiceUnit> {
  return import('../ipc/service-unit.ts');
}
