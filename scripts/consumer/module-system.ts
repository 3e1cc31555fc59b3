import type * as hubClient from 'ws-hub/client';

/** The types of the third entry point must resolve too (`skipLibCheck: false`). */
export type HubClientModule = typeof hubClient;

/** How this file was loaded: CommonJS apps `require()` the ESM-only Nest and ws-hub. */
export function moduleSystem(): 'commonjs' | 'esm' {
  return typeof module === 'object' && typeof exports === 'object' ? 'commonjs' : 'esm';
}
