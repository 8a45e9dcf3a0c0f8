import { chosenProtocol, probingProtocol, protocolOfSession, rememberedProtocol } from '../protocols/registry.ts';
import type { UploadProtocol } from '../protocols/upload-protocol.ts';
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
  return learnedProtocol(context, url, headers);
}

/**
 * Remembered, or one probe shared by concurrent uploads. A network error fails this attempt
 * (retried, probed again). A protocol that needs no probe to be found (one detected on the request
 * itself) costs nothing extra.
 */
export async function learnedProtocol(
  context: AttemptContext,
  url: URL,
  headers: ReadonlyArray<readonly [string, string]>,
): Promise<UploadProtocol> {
  const { live, store, dispatcher } = context;
  const prober = probingProtocol(url);
  if (!prober?.probe) return rememberedProtocol(url, 'plain');
  // Remembered (nearly every upload): no probe closures, and no turn through an async lookup.
  let capability = recallEndpoint(store, url);
  let decisive = true;
  if (capability === undefined) {
    const probe = prober.probe.bind(prober);
    const signal = live.controller.signal;
    const credentials = live.record.extras.serverCredential;
    capability = await endpointCapability(
      store,
      url,
      async () => {
        const answer = await probe({ url, headers, credentials, dispatcher, signal });
        decisive = answer.decisive;
        return answer;
      },
      signal,
    );
  }
  const protocol = rememberedProtocol(url, capability.protocol);
  const adopted = protocol.adoptEndpoint?.(capability, live.record.extras);
  if (adopted) saveExtras(context, adopted);
  // An answer that said nothing of the server (401, 5xx): not remembered, but this operation does
  // not ask again on its retries.
  if (!decisive) saveExtras(context, { ...live.record.extras, probedPlain: true });
  return protocol;
}
