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
