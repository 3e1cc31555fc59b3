import { createHmac, timingSafeEqual } from 'node:crypto';

/** The claims the demo reads from a token (`sub` is the user id; `exp`, `nbf` in seconds). */
export interface DemoJwtClaims {
  sub: string;
  exp?: number;
  nbf?: number;
  [claim: string]: unknown;
}

function part(text: string): any {
  try {
    return JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Verifies an HS256 JWT with `secret` (node:crypto only, no dependency): the algorithm is
 * pinned to HS256 (`none` and the others are refused), the signature compared in constant
 * time, `sub` required, `exp` and `nbf` checked against `nowMs`. The claims, or null.
 */
export function verifyHs256(token: string, secret: string, nowMs = Date.now()) {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [header, payload, signature] = parts;
  if (part(header)?.alg !== 'HS256') return null;
  const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  const claims = part(payload) as DemoJwtClaims | undefined;
  if (typeof claims?.sub !== 'string' || claims.sub === '') return null;
  const { exp, nbf } = claims;
  if (exp !== undefined && (typeof exp !== 'number' || exp * 1000 <= nowMs)) return null;
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf * 1000 > nowMs)) return null;
  return claims;
}

/** Signs `claims` as an HS256 JWT (for `scripts/demo-jwt.mjs`'s readers and the tests). */
export function signHs256(claims: Record<string, unknown>, secret: string): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const body = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}
