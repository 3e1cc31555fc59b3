import type { NestApplicationOptions } from '@nestjs/common';

/**
 * How the demo's HTTP server stops (used by `main.ts` and by the tests that build the app).
 *
 * Node's `server.close()` closes only idle keep-alive connections: one that is busy (a page
 * polling `/stats` every 2 s) keeps being served after the close, and keeps the process alive
 * past its shutdown. So, from the moment shutdown begins (before the hub closes its clients):
 * - `return503OnClosing`: every HTTP request is answered 503 with `Connection: close`, so a
 *   keep-alive client gets one "stopping" answer and its connection ends;
 * - `forceCloseConnections`: when the HTTP server closes, the connections still open (idle, or
 *   a request still in progress) are destroyed instead of waited for.
 * Both options exist with the same meaning for `@nestjs/platform-express` and
 * `@nestjs/platform-fastify`.
 */
export const DEMO_APP_OPTIONS = {
  return503OnClosing: true,
  forceCloseConnections: true,
} as const satisfies NestApplicationOptions;
