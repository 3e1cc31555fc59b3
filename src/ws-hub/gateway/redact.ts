import type { IncomingHttpHeaders } from 'node:http';
import { errorText } from '../util/error-text.js';

/** Longest error text a handshake log line carries. */
const MAX_TEXT = 200;
/** Parts of a secret this long or longer are masked on their own (a JWT's segments, say). */
const MIN_SECRET_PART = 6;
/** Headers whose values are no secret and too common to mask (they would mask the message). */
const PUBLIC_HEADERS = new Set([
  'host',
  'connection',
  'upgrade',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'accept-encoding',
  'accept-language',
  'pragma',
  'cache-control',
  'user-agent',
  'origin',
]);

/**
 * The text of an error thrown by `authenticate`, fit for a log line: the token, the query
 * string, and the value of every request header that may carry a credential (a cookie, an
 * `Authorization`, a custom `X-Api-Key`...), each with every part of it of 6 characters or more
 * (an app may quote one segment of a JWT or of a cookie), are masked, the error's class name
 * included, and the text is cut to 200 characters. What an app's code throws is not under the
 * hub's control; what it logs is.
 */
export function redactedError(
  err: unknown,
  token: string | undefined,
  url: string | undefined,
  headers: IncomingHttpHeaders = {},
): string {
  const name = err instanceof Error && err.name !== 'Error' ? err.name + ': ' : '';
  let text = name + errorText(err);
  const secrets = new Set<string>();
  const add = (value: string | undefined): void => {
    if (!value) return;
    secrets.add(value);
    for (const part of value.split(/[^A-Za-z0-9]+/)) {
      if (part.length >= MIN_SECRET_PART) secrets.add(part);
    }
  };
  add(token);
  const q = url?.indexOf('?') ?? -1;
  if (url && q >= 0 && q < url.length - 1) add(url.slice(q + 1));
  for (const [header, value] of Object.entries(headers)) {
    if (PUBLIC_HEADERS.has(header)) continue;
    for (const v of Array.isArray(value) ? value : [value]) add(v);
  }
  // Longest first, so a part never leaves the rest of a longer secret readable.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    text = text.split(secret).join('***');
  }
  return text.length > MAX_TEXT ? text.slice(0, MAX_TEXT) + '...' : text;
}
