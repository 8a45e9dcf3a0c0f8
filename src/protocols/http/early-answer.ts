/**
 * Holding a large body back until the server had a chance to refuse it.
 *
 * A server that will refuse a request (401 for Digest-only credentials, 403, 404, 409, 413) says so
 * right after the request head — if the request says `Expect: 100-continue`. Without it, Apache
 * reads (and drops) the whole body before it answers, and the body is on the wire twice with the
 * retry. So such a request carries `Expect: 100-continue` (expect-continue.ts makes undici send it),
 * goes out with its head and the body's first byte (undici writes the head together with the first
 * chunk), and waits for `100 Continue` or a final answer; like curl, it sends the body anyway after
 * EARLY_ANSWER_WAIT_MS without either (servers that ignore Expect). An early final answer ends the
 * request; its connection is closed rather than reused.
 *
 * The wait costs up to EARLY_ANSWER_WAIT_MS per request with a server that ignores Expect, and a
 * round trip with one that answers 100, so it is only made where a refusal is likely
 * and expensive: a body of at least EARLY_ANSWER_THRESHOLD_BYTES that carries generated credentials
 * the origin has not accepted yet in this process (preemptive Basic to a server that may want Digest).
 * Once an origin accepted them, or asked for Digest (whose challenge is then reused, auth-cache.ts),
 * its requests go out without the wait.
 */
export const EARLY_ANSWER_THRESHOLD_BYTES = 1024 * 1024;

/** Like curl's default wait for a 100 that does not come. */
export const EARLY_ANSWER_WAIT_MS = 1_000;
