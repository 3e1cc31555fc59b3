import { HubDisconnectedError } from './errors.js';
import type { WsHubClient } from './api.js';
import type { HubWelcome } from './types.js';

/**
 * `client.ready()`: the welcome once open (at once if open); rejects with
 * `HubDisconnectedError` if the client closes first (at once if closed).
 */
export async function whenOpen(client: WsHubClient<any, any, any>): Promise<HubWelcome> {
  if (client.state === 'open') return client.welcome!;
  if (client.state === 'closed') throw new HubDisconnectedError('client closed');
  return new Promise((resolve, reject) => {
    const stop = client.onState((c) => {
      if (c.state === 'open') resolve(c.welcome);
      else if (c.state === 'closed') reject(new HubDisconnectedError(`client closed (${c.cause})`));
      else return; // (re)connecting: wait
      stop();
    });
  });
}
