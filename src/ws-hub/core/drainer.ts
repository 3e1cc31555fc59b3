import type { HubDrainResult } from '../interfaces/events.interface.js';
import { CloseCode, DisconnectReason } from '../protocol/constants.js';
import type { ClientRegistry } from './client-registry.js';
import type { Closer } from './closer.js';
import type { Connection } from './connection.js';

/** Interval between two batches of a drain. */
export const DRAIN_BATCH_INTERVAL_MS = 50;
/** The close a drain sends: reconnect now, to another instance. */
export const DRAIN_CLOSE = { code: CloseCode.SERVICE_RESTART, reason: 'server restarting' };

/** What a drain did. */
export type DrainResult = HubDrainResult;

/**
 * Closes every client of the instance with 1012 `server restarting`, in batches every
 * `DRAIN_BATCH_INTERVAL_MS`, each as large as needed for the last to leave within `drainMs`:
 * 20 000 clients over 5 s go 200 per batch (4000/s), 30 clients one per batch (1.5 s). The
 * clients that connect meanwhile are refused by the hub (it is draining), not here.
 */
export class Drainer {
  private timer: NodeJS.Timeout | undefined;
  private finish: (() => void) | undefined;

  constructor(
    private readonly registry: ClientRegistry,
    private readonly closer: Closer,
  ) {}

  async run(drainMs: number, graceMs: number): Promise<DrainResult> {
    const clients: Connection[] = [...this.registry.values()];
    if (clients.length === 0) return { clients: 0, answered: 0, spreadMs: 0 };
    const batches = Math.max(1, Math.floor(drainMs / DRAIN_BATCH_INTERVAL_MS));
    const size = Math.ceil(clients.length / batches);
    const closed: Promise<void>[] = [];
    let answered = 0;
    let next = 0;
    const startMs = performance.now();
    let lastMs = startMs;
    const batch = (): void => {
      for (const end = Math.min(next + size, clients.length); next < end; next++) {
        const client = clients[next];
        if (client.removed) continue; // left meanwhile
        closed.push(
          new Promise<void>((resolve) =>
            client.socket.once('close', (code: number) => {
              // A peer that answered echoes a code; one cut by its grace timer closes with 1006.
              if (code !== CloseCode.ABNORMAL) answered++;
              resolve();
            }),
          ),
        );
        this.closer.close(
          client,
          DRAIN_CLOSE.code,
          DRAIN_CLOSE.reason,
          DisconnectReason.SERVER_SHUTDOWN,
          graceMs,
        );
      }
      lastMs = performance.now();
    };
    await new Promise<void>((resolve) => {
      this.finish = resolve;
      const tick = (): void => {
        batch();
        if (next < clients.length) this.timer = setTimeout(tick, DRAIN_BATCH_INTERVAL_MS);
        else resolve();
      };
      tick();
    });
    this.timer = undefined;
    this.finish = undefined;
    // The last closes get their grace period to be answered (the grace timers cut the rest).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(closed),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs + 100))),
    ]);
    clearTimeout(timer);
    return { clients: closed.length, answered, spreadMs: Math.round(lastMs - startMs) };
  }

  /** Stops a drain still in progress (the app is closing anyway); its promise resolves. */
  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.finish?.();
  }
}
