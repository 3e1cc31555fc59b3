/** A close reason must fit a control frame: at most 123 bytes of UTF-8 (RFC 6455 5.5). */
export const MAX_CLOSE_REASON_BYTES = 123;

/** Cuts a close reason to `MAX_CLOSE_REASON_BYTES` without leaving half a character. */
export function truncateReason(reason: string): string {
  if (Buffer.byteLength(reason) <= MAX_CLOSE_REASON_BYTES) return reason;
  let out = reason.slice(0, MAX_CLOSE_REASON_BYTES);
  while (Buffer.byteLength(out) > MAX_CLOSE_REASON_BYTES) out = out.slice(0, -1);
  // A cut through a surrogate pair would leave half a character.
  if (/[\uD800-\uDBFF]$/.test(out)) out = out.slice(0, -1);
  return out;
}

/** Codes an application may close with: 1000, or the registered/private range 3000-4999. */
export function isAppCloseCode(code: number): boolean {
  return Number.isInteger(code) && (code === 1000 || (code >= 3000 && code <= 4999));
}
