import type { WsHubModuleOptions } from '../../src/ws-hub/index.js';
import { startHub, type HubApp } from './app.js';
import { waitFor } from './client.js';
import { Recovering } from './recovering-client.js';

/** The test hubs' `authenticate`: the token is the user id (none: refused). */
export const tokenIsUserId: NonNullable<WsHubModuleOptions['authenticate']> = (_r, { token }) =>
  token ? { userId: token } : null;

/** The integers from `from` to `to`, both included. */
export const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Measured figures, printed with SHOW_FIGURES=1 (the report quotes them). */
export function figure(line: string): void {
  if (process.env.SHOW_FIGURES) console.log(line);
}

/**
 * The setup the recovery specs share (regressions, attacks, on one instance or on Redis): apps
 * with recovery and raw recovering clients, kept to be closed by `close()` in the spec's
 * `afterEach`. The methods are bound, so a spec can take them apart:
 * `const { hub, client, drop } = new RecoveringHubs()`.
 */
export class RecoveringHubs {
  readonly apps: HubApp[] = [];
  readonly raws: Recovering[] = [];

  /** An app with recovery, no rate limit, tokens are user ids; `options` on top. */
  readonly hub = async (options: WsHubModuleOptions = {}): Promise<HubApp> => {
    const app = await startHub({
      rateLimit: false,
      recovery: true,
      authenticate: tokenIsUserId,
      ...options,
    });
    this.apps.push(app);
    return app;
  };

  /** A raw recovering client of `user`, connected to `url` and in `rooms` (joined in order). */
  readonly client = async (
    url: string,
    user: string,
    rooms: string[] = [],
  ): Promise<Recovering> => {
    const r = this.recovering();
    await r.connect(url, user);
    for (const room of rooms) await r.join(room);
    return r;
  };

  /** A raw recovering client, not connected yet (closed with the others). */
  readonly recovering = (): Recovering => {
    const r = new Recovering();
    this.raws.push(r);
    return r;
  };

  /** Drops the connection without a close frame and waits until the hub saw it go. */
  readonly drop = async (r: Recovering, app: HubApp): Promise<void> => {
    const id = r.clientId;
    r.drop();
    await waitFor(() => !app.hub.isOnline(id));
  };

  /** Stops the clients (no more resumes), then closes the apps. */
  readonly close = async (): Promise<void> => {
    for (const r of this.raws.splice(0)) r.stop();
    await Promise.all(this.apps.splice(0).map((a) => a.close()));
  };
}
