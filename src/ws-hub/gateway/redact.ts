import { errorText } from '../util/error-text.js';

/** Longest error text a handshake log line carries. */
const MAX_TEXT = 200;
/** Parts of a token this long or longer are masked on their own (a JWT's segments, say). */
const MIN_SECRET_PART = 6;

/**
 * The text of an error thrown by `authenticate`, fit for a log line: the token, every part of
 * it of 6 characters or more (an app may quote one segment of a JWT) and the request's query
 * string are masked, and the text is cut to 200 characters. What an app's code throws is not
 * under the hub's control; what it logs is.
 */
export function redactedError(
  err: unknown,
  token: string | undefined,
  url: string | undefined,
): string {
  let text = errorText(err);
  const secrets: string[] = [];
  if (token) {
    secrets.push(token);
    for (const part of token.split(/[^A-Za-z0-9]+/))
      if (part.length >= MIN_SECRET_PART) secrets.push(part);
  }
  const q = url?.indexOf('?') ?? -1;
  if (url && q >= 0 && q < url.length - 1) secrets.push(url.slice(q + 1));
  // Longest first, so a part never leaves the rest of a longer secret readable.
  for (const secret of secrets.sort((a, b) => b.length - a.length)) {
    text = text.split(secret).join('***');
  }
  const name = err instanceof Error && err.name !== 'Error' ? err.name + ': ' : '';
  text = name + text;
  return text.length > MAX_TEXT ? text.slice(0, MAX_TEXT) + '...' : text;
}
