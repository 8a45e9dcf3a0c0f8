import { TransferError } from '../core/errors.ts';
import { ftpProtocol } from './ftp/ftp-adapter.ts';
import { httpProtocol } from './http/http-adapter.ts';
import { ietfProtocol } from './ietf/ietf-adapter.ts';
import { tusProtocol } from './tus/tus-adapter.ts';
import type { LearnedEndpoint, ResumeChoice, UploadProtocol } from './upload-protocol.ts';

/**
 * Every upload protocol, one line each (docs/protocols.md, "Adding a protocol"). Where several serve
 * a URL and a rule below finds more than one, the first listed wins.
 */
export const PROTOCOLS: readonly UploadProtocol[] = [
  tusProtocol,
  ietfProtocol,
  httpProtocol,
  ftpProtocol, // its adapter loads basic-ftp only when an FTP upload runs
];

/** Per scheme: an "auto" attempt asks up to three times, and filtering the list each time showed in profiles. */
const BY_SCHEME = new Map<string, readonly UploadProtocol[]>();

/** The protocols that serve `url`'s scheme; none is BT_ERR_UNSUPPORTED_SCHEME. */
export function protocolsFor(url: URL): readonly UploadProtocol[] {
  const known = BY_SCHEME.get(url.protocol);
  if (known !== undefined) return known;
  const found = PROTOCOLS.filter((protocol) => protocol.schemes.includes(url.protocol));
  if (found.length === 0) {
    throw new TransferError(
      'BT_ERR_UNSUPPORTED_SCHEME',
      `no upload protocol serves "${url.protocol.replace(/:$/, '')}" URIs`,
    );
  }
  BY_SCHEME.set(url.protocol, found);
  return found;
}

/** The protocol a stored session belongs to, if it serves `url`. */
export function protocolOfSession(url: URL, name: string): UploadProtocol | undefined {
  return PROTOCOLS.find((protocol) => protocol.name === name && protocol.schemes.includes(url.protocol));
}

/**
 * The protocol the operation asked for: the only one of its scheme, or the one its `resumeProtocol`
 * names. undefined: "auto" (choose by what the endpoint speaks).
 */
export function chosenProtocol(url: URL, choice: ResumeChoice): UploadProtocol | undefined {
  const candidates = protocolsFor(url);
  const only = candidates.length === 1 ? candidates[0] : undefined;
  return only ?? candidates.find((protocol) => protocol.choice === choice);
}

/** Under "auto": the protocol for what the endpoint memory says `url` speaks. */
export function rememberedProtocol(url: URL, verdict: LearnedEndpoint['protocol']): UploadProtocol {
  const found = protocolsFor(url).find((protocol) => protocol.remembered.includes(verdict));
  if (!found) throw new TransferError('BT_ERR_INTERNAL', `no upload protocol for a "${verdict}" endpoint`);
  return found;
}

/** Under "auto": the protocol that asks an endpoint what it speaks, if `url`'s scheme has one. */
export function probingProtocol(url: URL): UploadProtocol | undefined {
  return protocolsFor(url).find((protocol) => protocol.probe !== undefined);
}
