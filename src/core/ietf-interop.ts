/**
 * The IETF resumable-upload draft's interop versions (`Upload-Draft-Interop-Version`) that bgtransfer
 * speaks: 6 (draft-04/05, what most draft servers speak) and 8 (draft-09 to -11). docs/protocols.md
 * lists what each one sends and expects.
 */
export const SUPPORTED_INTEROP_VERSIONS = [6, 8] as const;
export type IetfInteropVersion = (typeof SUPPORTED_INTEROP_VERSIONS)[number];
export const DEFAULT_INTEROP_VERSION: IetfInteropVersion = 6;

export function isSupportedInteropVersion(value: unknown): value is IetfInteropVersion {
  return SUPPORTED_INTEROP_VERSIONS.some((version) => version === value);
}
