import type { HubPosition } from './types.js';

/** A frame from the server, as parsed. */
export interface HubFrame {
  event: string;
  id?: number | string;
  data?: any;
  /** A push's positions in its streams (recovery connections). */
  pos?: Record<string, HubPosition>;
  /** Redis Cluster: the message's id, the same on each of its copies (one per room). */
  mid?: unknown;
}

/** A text frame parsed as an envelope (`event` a string); `undefined` for anything else. */
export function parseFrame(raw: unknown): HubFrame | undefined {
  try {
    const frame = JSON.parse(raw as string);
    return typeof frame?.event === 'string' ? frame : undefined;
  } catch {
    return undefined;
  }
}
