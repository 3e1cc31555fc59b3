import {
  Controller,
  Get,
  Header,
  Inject,
  Optional,
  ServiceUnavailableException,
} from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { HubHealthIndicator, HubMetrics } from '../ws-hub/index.js';

/** Operators' endpoints: a terminus health check on the hub, and Prometheus metrics. */
@Controller()
export class HealthController {
  constructor(
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(HubHealthIndicator) private readonly hubHealth: HubHealthIndicator,
    @Optional() @Inject(HubMetrics) private readonly metrics: HubMetrics | null,
  ) {}

  /** 200 `ok` (or `degraded` during a Redis outage), 503 once a drain or shutdown has begun. */
  @Get('health')
  @HealthCheck()
  check() {
    return this.health.check([() => this.hubHealth.isHealthy('ws-hub')]);
  }

  /** Prometheus text exposition (`HUB_METRICS=off` turns the metrics off: 503). */
  @Get('metrics')
  @Header('Cache-Control', 'no-store')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(): Promise<string> {
    if (!this.metrics) throw new ServiceUnavailableException('metrics are off (HUB_METRICS=off)');
    return this.metrics.metrics();
  }
}
