/**
 * A value already serialized as JSON: the host's enumeration replies are built as text (the store makes
 * each snapshot's JSON), and the frame encoder splices the text in instead of stringifying a copy of
 * thousands of objects. The in-process port parses it, as a socket client would.
 */
export class JsonText {
  readonly text: string;

  constructor(text: string) {
    this.text = text;
  }
}

/**
 * `head`, the texts joined with commas, and `tail`, as one flat string: the join copies each text once,
 * where `head + texts.join(',') + tail` would be copied once more when it is written (a concatenation is
 * flattened before it is encoded).
 */
export function joinBetween(head: string, texts: readonly string[], tail: string): string {
  if (texts.length === 0) return head + tail;
  const pieces = texts.slice();
  pieces[0] = head + pieces[0];
  pieces[pieces.length - 1] += tail;
  return pieces.join(',');
}
