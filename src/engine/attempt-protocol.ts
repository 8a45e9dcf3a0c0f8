import { chosenProtocol, probingProtocol, protocolOfSession, rememberedProtocol } from '../protocols/registry.ts';
import type { UploadProtocol } from '../protocols/upload-protocol.ts';
import type { EndpointCapability } from '../store/endpoint-capability.ts';
import { saveExtras } from './attempt-delivery.ts';
import { endpointCapability, recallEndpoint } from './endpoint-capabilities.ts';
import type { AttemptContext } from './run-attempt.ts';

/**
 * The protocol of this attempt (docs/protocols.md, "Choosing a protocol"): the one of a stored
 * session, which continues where the server is; the one the app named (or the only one of the URL's
 * scheme); under "auto", the one for what the endpoint is known to speak (learned once).
 */
export async function chooseProtocol(
  context: AttemptContext,
  url: URL,
  headers: ReadonlyArray<readonly [string, string]>,
): Promise<UploadProtocol> {
  const extras = context.live.record.extras;
  const stored = extras.session ? protocolOfSession(url, extras.session.protocol) : undefined;
  if (stored) return stored;
  const named = chosenProtocol(url, extras.resumeProtocol);
  if (named) return named;
  if (extras.probedPlain) return rememberedProtocol(url, 'plain');
  // A value when known: an async function that returns a promise costs extra turns.
  return learnedProtocol(context, url, headers);
}

/**
 * Under "auto", without asking the endpoint: plain where no protocol of the scheme probes, or what
 * the endpoint memory remembers (nearly every upload). undefined: a probe is needed.
 */
function knownProtocol(context: AttemptContext, url: URL): UploadProtocol | undefined {
  const prober = probingProtocol(url);
  if (!prober?.probe) return rememberedProtocol(url, 'plain');
  const capability = recallEndpoint(context.store, url);
  return capability === undefined ? undefined : adoptedProtocol(context, url, capability, true);
}

/**
 * Remembered, or one probe shared by concurrent uploads. A network error fails this attempt
 * (retried, probed again). A protocol that needs no probe to be found (one detected on the request
 * itself) costs nothing extra.
 */
export function learnedProtocol(
  context: AttemptContext,
  url: URL,
  headers: ReadonlyArray<readonly [string, string]>,
): UploadProtocol | Promise<UploadProtocol> {
  return knownProtocol(context, url) ?? probedProtocol(context, url, headers);
}

/** The endpoint asked (one probe shared by concurrent uploads), its answer remembered. */
async function probedProtocol(
  context: AttemptContext,
  url: URL,
  headers: ReadonlyArray<readonly [string, string]>,
): Promise<UploadProtocol> {
  const { live, store, dispatcher } = context;
  const prober = probingProtocol(url);
  // knownProtocol answered every scheme without a probing protocol.
  if (!prober?.probe) return rememberedProtocol(url, 'plain');
  const probe = prober.probe.bind(prober);
  const signal = live.controller.signal;
  const credentials = live.record.extras.serverCredential;
  let decisive = true;
  const capability = await endpointCapability(
    store,
    url,
    async () => {
      const answer = await probe({ url, headers, credentials, dispatcher, signal });
      decisive = answer.decisive;
      return answer;
    },
    signal,
  );
  return adoptedProtocol(context, url, capability, decisive);
}

/** The protocol for a capability, with what the operation keeps of it (extras the protocol adopts, probedPlain). */
function adoptedProtocol(
  context: AttemptContext,
  url: URL,
  capability: EndpointCapability,
  decisive: boolean,
): UploadProtocol {
  const protocol = rememberedProtocol(url, capability.protocol);
  const adopted = protocol.adoptEndpoint?.(capability, context.live.record.extras);
  if (adopted) saveExtras(context, adopted);
  // An answer that said nothing of the server (401, 5xx): not remembered, but this operation does
  // not ask again on its retries.
  if (!decisive) saveExtras(context, { ...context.live.record.extras, probedPlain: true });
  return protocol;
}
