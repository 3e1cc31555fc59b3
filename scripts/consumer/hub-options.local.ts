import type { WsHubModuleOptions } from 'ws-hub';

export function hubOptions(): WsHubModuleOptions {
  return { path: '/ws' };
}
