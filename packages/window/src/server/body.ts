import type http from 'node:http';
import { WindowActionError } from './errors.ts';

/** The largest request body the window reads. */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Reads a request's JSON body of at most `maxBytes`. A longer body is refused before it is
 * read whole (413); a body that is not JSON is 400. An empty body is `{}`.
 */
export async function readJsonBody(
  request: http.IncomingMessage,
  maxBytes: number = MAX_BODY_BYTES,
): Promise<unknown> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new WindowActionError(
      'ERR_BAD_REQUEST',
      'The request was not JSON. Reload the page.',
      400,
    );
  }
}

function tooLarge(maxBytes: number): WindowActionError {
  return new WindowActionError(
    'ERR_TOO_LARGE',
    `The request was larger than ${maxBytes / 1024} KiB. Choose fewer items at a time.`,
    413,
  );
}
