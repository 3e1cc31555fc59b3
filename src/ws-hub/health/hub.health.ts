import { Inject, Injectable } from '@nestjs/common';
import { HubService } from '../core/hub.service.js';

/** A result in the shape `@nestjs/terminus` expects from a health indicator. */
export type HubHealthResult<Key extends string = string> = Record<
  Key,
  { status: 'up' | 'degraded' | 'down'; [detail: string]: unknown }
>;

/**
 * A health indicator for `@nestjs/terminus` (it needs no import of terminus, so the hub
 * works without it):
 *
 * ```ts
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.hubHealth.isHealthy('ws-hub')]); }
 * ```
 *
 * - `up` while the hub serves;
 * - `degraded` (HTTP 200, overall status `degraded`) while a cluster adapter has lost its
 *   store (Redis): local delivery goes on, only other instances are out of reach;
 * - `down` once shutdown has begun (new connections are refused), so a load balancer stops
 *   routing here.
 */
@Injectable()
export class HubHealthIndicator {
  constructor(@Inject(HubService) private readonly hub: HubService) {}

  isHealthy<const Key extends string = 'ws-hub'>(key: Key = 'ws-hub' as Key): HubHealthResult<Key> {
    const core = this.hub.core;
    const details: Record<string, unknown> = { online: core.online, instance: core.instanceId };
    let status: 'up' | 'degraded' | 'down' = 'up';
    if (core.isShuttingDown) {
      status = 'down';
      details.message = 'shutting down';
    } else if (core.link.distributed) {
      const connected = (core.link.stats() as { connected?: boolean } | undefined)?.connected;
      details.adapter = connected === false ? 'disconnected' : 'connected';
      if (connected === false) {
        status = 'degraded';
        details.message = 'cluster store unreachable; local delivery continues';
      }
    }
    return { [key]: { status, ...details } } as HubHealthResult<Key>;
  }
}
