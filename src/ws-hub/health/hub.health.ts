import { Inject, Injectable } from '@nestjs/common';
import type { HealthRole } from '../core/hub-core.js';
import { WS_HUB_CORE } from '../core/tokens.js';

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
 * - `down` from the moment a drain (`HubService.drain()`) or shutdown begins (new connections
 *   are refused), so a load balancer stops routing here: a readiness check. It says nothing of
 *   liveness (a draining instance is alive and busy closing its clients).
 */
@Injectable()
export class HubHealthIndicator {
  /** @internal Built by Nest: the hub's object graph is not part of the API. */
  constructor(@Inject(WS_HUB_CORE) private readonly hub: HealthRole) {}

  isHealthy<const Key extends string = 'ws-hub'>(key: Key = 'ws-hub' as Key): HubHealthResult<Key> {
    const hub = this.hub;
    const details: Record<string, unknown> = { online: hub.online, instance: hub.instanceId };
    let status: 'up' | 'degraded' | 'down' = 'up';
    if (hub.isShuttingDown || hub.draining) {
      // Not ready: a load balancer (or a Kubernetes readiness probe) stops routing here.
      status = 'down';
      details.message = hub.isShuttingDown ? 'shutting down' : 'draining';
    } else if (hub.distributed) {
      const stats = hub.adapterStats();
      details.adapter = stats?.connected === false ? 'disconnected' : 'connected';
      if (stats?.connected === false) {
        status = 'degraded';
        details.message = 'cluster store unreachable; local delivery continues';
      } else if (stats?.layoutConflicts) {
        status = 'degraded';
        details.message = 'instances disagree on how messages cross (see the log)';
      }
    }
    return { [key]: { status, ...details } } as HubHealthResult<Key>;
  }
}
