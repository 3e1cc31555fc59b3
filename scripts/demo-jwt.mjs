#!/usr/bin/env node
// Prints an HS256 JWT for the demo (HUB_JWT_SECRET): node scripts/demo-jwt.mjs <user> [seconds]
// `sub` is the user, `exp` now + seconds (default 120). node:crypto only.
import { createHmac } from 'node:crypto';

const [user, seconds = '120'] = process.argv.slice(2);
const secret = process.env.HUB_JWT_SECRET;
if (!user || !secret || !/^\d+$/.test(seconds)) {
  console.error('usage: HUB_JWT_SECRET=<secret> node scripts/demo-jwt.mjs <user> [seconds]');
  process.exit(2);
}
const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = Math.floor(Date.now() / 1000);
const body = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ sub: user, iat: now, exp: now + Number(seconds) })}`;
console.log(`${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`);
