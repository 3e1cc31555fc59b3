import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Resume credentials: `<clientId>~<secret>`, 144 random bits of secret. Only a SHA-256 of the
 * secret is stored; the credential itself is sent once (in the welcome) and never logged.
 */
const SEPARATOR = '~';

export interface IssuedCredential {
  /** What the client gets. */
  credential: string;
  /** What the store keeps. */
  hash: string;
}

export function issueCredential(clientId: string): IssuedCredential {
  const secret = randomBytes(18).toString('base64url');
  return { credential: clientId + SEPARATOR + secret, hash: hashSecret(secret) };
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

/** The client id and the secret's hash of a presented credential, or undefined when malformed. */
export function readCredential(
  credential: unknown,
): { clientId: string; hash: string } | undefined {
  if (typeof credential !== 'string' || credential.length > 300) return undefined;
  const at = credential.lastIndexOf(SEPARATOR);
  if (at <= 0 || at === credential.length - 1) return undefined;
  return { clientId: credential.slice(0, at), hash: hashSecret(credential.slice(at + 1)) };
}

/** Constant-time comparison of two hashes. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
