import { randomBytes, randomFillSync } from 'node:crypto';

/**
 * The library's random identifiers, in one place: client ids' random part, stream epochs,
 * instance ids. All come from the CSPRNG; the frequent ones from a pooled buffer, since
 * `randomBytes(9)` per connection costs a call into OpenSSL each time (measured: about 8 µs
 * per handshake).
 */

/** Bytes drawn from the CSPRNG at once: one call serves hundreds of ids. */
const POOL_BYTES = 4096;

let pool = Buffer.alloc(0);
let offset = POOL_BYTES;

/** `bytes` random bytes from the pool, as base64url (4 characters per 3 bytes). */
function pooled(bytes: number): string {
  if (offset + bytes > POOL_BYTES) {
    if (pool.length === 0) pool = Buffer.allocUnsafe(POOL_BYTES);
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + bytes);
  offset += bytes;
  return id;
}

/** 72 random bits as 12 base64url characters: the random part of a client id. */
export function randomId(): string {
  return pooled(9);
}

/** A stream epoch: 48 random bits as 8 base64url characters. */
export function newEpoch(): string {
  return pooled(6);
}

/** An instance id: 48 random bits as 8 base64url characters (the prefix of its client ids). */
export function newInstanceId(): string {
  return randomBytes(6).toString('base64url');
}
