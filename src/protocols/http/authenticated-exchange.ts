import { EARLY_ANSWER_THRESHOLD_BYTES, EARLY_ANSWER_WAIT_MS } from './early-answer.ts';
import { type ExchangeInput, type ExchangeResponse, exchange, type ResponseSink } from './exchange.ts';
import type { AuthRetryState, ServerAuth } from './server-auth.ts';

/**
 * One request with server credentials (R65): the exchange, plus at most two re-sends when the
 * server asks for Digest credentials (RFC 7616 §3.3) or calls the nonce stale. A 401 that is answered
 * again has its body dropped (the connection stays reusable; a 401 sent before the server read the
 * request body ends that exchange as every early answer does) and the request goes out again with its
 * body from `input.body.start`; `onResend` is called first (progress goes back to the start). Any
 * other answer, including a 401 that is not retried, reaches `input.chooseSink` as usual.
 * A large body with credentials the origin has not accepted yet waits for an early 401 first
 * (early-answer.ts). Without `auth` this is `exchange(input)`.
 */
export async function authenticatedExchange(
  input: ExchangeInput,
  auth: ServerAuth | null,
  onResend?: () => void,
): Promise<ExchangeResponse> {
  if (auth === null) return exchange(input);
  const state: AuthRetryState = { staleRetried: false };
  for (;;) {
    const signed = auth.sign(input.method, input.url, input.headers);
    let retry = false;
    const body = input.body;
    const large = body !== null && (body.end ?? body.source.size) - body.start >= EARLY_ANSWER_THRESHOLD_BYTES;
    const response = await exchange({
      ...input,
      headers: signed.headers,
      ...(signed.holdBody && large ? { earlyAnswerWaitMs: EARLY_ANSWER_WAIT_MS } : {}),
      chooseSink(status, headers): ResponseSink {
        if (auth.shouldRetry(status, headers, signed.sent, state)) {
          retry = true;
          return { kind: 'discard' };
        }
        return input.chooseSink?.(status, headers) ?? { kind: 'memory' };
      },
    });
    if (!retry) return response;
    input.signal.throwIfAborted();
    onResend?.();
  }
}
