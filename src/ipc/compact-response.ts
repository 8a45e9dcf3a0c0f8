import { TransferError } from '../core/errors.ts';
import { isHeaderPair } from '../core/header-list.ts';
import type { ResponseSnapshot } from '../core/snapshot.ts';

/**
 * The response of a snapshot read from a rows2 page (core/snapshot-row.ts): its headers are kept as the
 * JSON text the host sent and parsed the first time something reads them, as getResponseInformation()
 * does (still synchronously). An enumeration rarely reads them, and four headers were more than half of
 * a plain upload's objects on the client. Their text is checked when parsed: text that is not a list
 * of [name, value] pairs of strings fails that read with BT_ERR_IPC_PROTOCOL, as the page would have.
 * JSON.stringify writes it as the plain object it stands for (toJSON).
 */
export class CompactResponse implements ResponseSnapshot {
  statusCode: number;
  actualUri: string;
  isResumable: boolean;
  // Declared only: an own property exists only when the host sent one, as on the plain object.
  declare bodyTruncated?: boolean;
  #headersText: string;
  #headers: Array<[string, string]> | undefined;

  constructor(
    statusCode: number,
    actualUri: string,
    isResumable: boolean,
    headersText: string,
    bodyTruncated: boolean | undefined,
  ) {
    this.statusCode = statusCode;
    this.actualUri = actualUri;
    this.isResumable = isResumable;
    if (bodyTruncated !== undefined) this.bodyTruncated = bodyTruncated;
    this.#headersText = headersText;
  }

  get headers(): Array<[string, string]> {
    this.#headers ??= parseHeaders(this.#headersText);
    return this.#headers;
  }

  set headers(headers: Array<[string, string]>) {
    this.#headers = headers;
  }

  toJSON(): ResponseSnapshot {
    const { statusCode, actualUri, isResumable, headers, bodyTruncated } = this;
    return bodyTruncated === undefined
      ? { statusCode, actualUri, isResumable, headers }
      : { statusCode, actualUri, isResumable, headers, bodyTruncated };
  }
}

function parseHeaders(text: string): Array<[string, string]> {
  let headers: unknown;
  try {
    headers = JSON.parse(text);
  } catch {
    throw badHeaders();
  }
  if (!Array.isArray(headers) || !headers.every(isHeaderPair)) throw badHeaders();
  return headers;
}

function badHeaders(): TransferError {
  return new TransferError(
    'BT_ERR_IPC_PROTOCOL',
    'bad listPage result from the host: response.headers: expected the JSON text of [name, value] pairs of strings',
  );
}
