// Runs in a CommonJS app without ioredis: `require()` of the ESM-only entries (Node's
// require(esm)) works for the client entry and fails for the Redis entry with what to install.
const HINT = 'npm install ioredis';

let entry = 'it loaded';
try {
  require('ws-hub/redis');
} catch (err) {
  entry = String(err?.message);
}
const client = require('ws-hub/client');

if (!entry.includes(HINT) || typeof client.createHubClient !== 'function') {
  console.error(`require('ws-hub/redis'): ${entry}; ws-hub/client: ${Object.keys(client)}`);
  process.exit(1);
}
console.log(`missing ioredis explained: ${entry}`);
