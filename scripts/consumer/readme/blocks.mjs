// How the consumer test checks each ```ts block of README.md (see snippets.mjs). An entry
// names the block by its section (the nearest heading above it, as written) and a piece of
// text only that block of the section contains, then says what the block is:
//
// - `file: 'name.ts'`: a whole module, written as src/name.ts of the snippet app; whole files
//   import one another by these names (`./orders.service.js`). `*.spec.ts` and
//   `*.e2e-spec.ts` files are also run by Vitest.
// - `wrap: 'name'`: a fragment, placed into scripts/consumer/readme/wrap/name.ts at its
//   `// @readme` markers (`// @readme 3-7` places lines 3 to 7 of the block); the wrapper
//   imports and declares what the fragment leaves out. Every line of the block is placed once.
// - `skip: 'reason'`: not compiled, for the stated reason.
//
// `broken: 'why'` on a compiled block: wrong, with its fix pending; its errors are printed but
// do not fail the test, and the test fails once it compiles (drop the mark with the fix).
//
// A block no entry claims, or an entry that claims no block (or several), fails the test.
export const BLOCKS = [
  { section: 'Add it to your Nest app', match: "forRoot({ path: '/ws' })", file: 'app.module.ts' },
  { section: 'Add it to your Nest app', match: 'NestFactory.create(AppModule, {', file: 'main.ts' },
  { section: 'Add it to your Nest app', match: 'class OrdersService', file: 'orders.service.ts' },
  { section: 'Add it to your Nest app', match: 'JwtModule', file: 'config.app.module.ts' },
  { section: 'Add it to your Nest app', match: 'WsHubOptionsFactory', file: 'hub.module.ts' },
  { section: 'Your own gateways', match: 'class ChatGateway', file: 'chat.gateway.ts' },
  {
    section: 'Client (`ws-hub/client`)',
    match: "createHubClient('wss://app.example.com/ws'",
    wrap: 'client-browser',
  },
  {
    section: 'Client (`ws-hub/client`)',
    match: "import WebSocket from 'ws'",
    file: 'client-node.ts',
  },
  { section: 'Client (`ws-hub/client`)', match: 'reloadDashboard()', wrap: 'client-recovered' },
  {
    section: 'Client (`ws-hub/client`)',
    match: 'interface ServerEvents',
    wrap: 'client-typed-events',
  },
  { section: 'Message recovery', match: 'recovery: true', wrap: 'recovery-option' },
  {
    section: 'Testing your app',
    match: "describe('OrdersService'",
    file: 'orders.service.spec.ts',
  },
  { section: 'Testing your app', match: "describe('orders (e2e)'", file: 'orders.e2e-spec.ts' },
  {
    section: 'Scaling out with Redis',
    match: 'new RedisHubAdapter(',
    wrap: 'redis-options',
  },
  { section: 'Scaling out with Redis', match: 'NatsHubAdapter', wrap: 'own-adapter' },
  { section: 'Redis Cluster', match: 'new Cluster(nodes', wrap: 'redis-cluster-options' },
  { section: 'Metrics and health', match: 'class HealthController', file: 'health.controller.ts' },
  {
    section: 'Token expiry and refresh',
    match: 'class TokensAppModule',
    file: 'tokens.app.module.ts',
  },
  { section: 'Revocation', match: 'class AuthController', file: 'auth.controller.ts' },
];
