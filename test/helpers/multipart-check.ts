import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import busboy from 'busboy';

/**
 * Parses a stored multipart/form-data body with busboy (not with the encoder under test): true when its
 * text fields equal `fields` and its one file part has the sha256 `fileSha256` (hex). The boundary is
 * read from the body's first line.
 */
export async function multipartMatches(
  path: string,
  fields: Readonly<Record<string, string>>,
  fileSha256: string,
): Promise<boolean> {
  const head = await new Promise<string>((resolve, reject) => {
    let text = '';
    createReadStream(path, { start: 0, end: 200 })
      .on('data', (chunk) => {
        text += chunk.toString();
      })
      .on('end', () => resolve(text))
      .on('error', reject);
  });
  const boundary = head.slice(2, head.indexOf('\r\n'));
  const parser = busboy({ headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
  const seen: Record<string, string> = {};
  const fileHashes: string[] = [];
  const parsed = new Promise<void>((resolve, reject) => {
    parser.on('field', (name, value) => {
      seen[name] = value;
    });
    parser.on('file', (_name, stream) => {
      const hash = createHash('sha256');
      stream.on('data', (chunk: Buffer) => hash.update(chunk));
      stream.on('end', () => fileHashes.push(hash.digest('hex')));
    });
    parser.on('close', resolve);
    parser.on('error', reject);
  });
  createReadStream(path).pipe(parser);
  await parsed;
  const fieldsMatch = Object.entries(fields).every(([name, value]) => seen[name] === value);
  return fieldsMatch && fileHashes.length === 1 && fileHashes[0] === fileSha256;
}
