import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { resolveHook } from '../core/hooks.js';
import type { HubCore } from '../core/hub-core.js';
import { startupSummary } from '../core/summary.js';
import type { HubAdapter } from '../interfaces/cluster-adapter.interface.js';
import type { HubAuthenticateFn, HubAuthorizeJoinFn } from '../interfaces/options.interface.js';
import { hubLogger } from '../util/logger.js';
import type { ResolvedHubOptions } from '../options/resolve-options.js';
import { WS_HUB_ADAPTER, WS_HUB_CORE, WS_HUB_RESOLVED_OPTIONS } from '../core/tokens.js';

/**
 * The hub's lifecycle in the app's: hooks resolved and the cluster joined at init, one summary
 * line once the app is up, a clean shutdown (1001 to every client before Nest's adapter would
 * cut them with 1006, the cluster left, timers stopped). A provider of its own, so that an app
 * replacing `HubService` in a test still has a working hub.
 */
@Injectable()
export class HubLifecycle
  implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  constructor(
    @Inject(WS_HUB_CORE) private readonly hub: HubCore,
    @Inject(WS_HUB_RESOLVED_OPTIONS) private readonly options: ResolvedHubOptions,
    @Inject(WS_HUB_ADAPTER) private readonly adapter: HubAdapter,
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
  ) {}

  async onModuleInit(): Promise<void> {
    this.hub.authenticator = await resolveHook<HubAuthenticateFn>(
      this.moduleRef,
      this.options.authenticate,
      'authenticate',
    );
    this.hub.authorizeJoin = await resolveHook<HubAuthorizeJoinFn>(
      this.moduleRef,
      this.options.authorizeJoin,
      'authorizeJoin',
    );
    await this.hub.link.init(this.hub.adapterHost);
    this.hub.strategy.start();
  }

  /** One log line with the effective options, once the app is up. */
  onApplicationBootstrap(): void {
    hubLogger.log(startupSummary(this.options, this.adapter.constructor?.name ?? 'custom'));
  }

  /**
   * Nest's ws adapter terminates sockets (1006) when it disposes; closing here first, before
   * it runs, gives every client a 1001 close frame it can act on (reconnect elsewhere).
   */
  async beforeApplicationShutdown(): Promise<void> {
    const hub = this.hub;
    if (hub.isShuttingDown) return;
    hub.isShuttingDown = true;
    hub.heartbeat.stop();
    const startMs = performance.now();
    const { clients, answered } = await hub.closer.drain(this.options.shutdownTimeoutMs);
    await hub.strategy.close();
    await hub.link.close();
    hubLogger.log(
      `hub stopped: ${clients} clients closed with 1001, ${answered} answered, ` +
        `${clients - answered} cut; ${Math.round(performance.now() - startMs)} ms`,
    );
  }

  onApplicationShutdown(): void {
    this.hub.heartbeat.stop();
    this.hub.closer.dispose();
    this.hub.streams.complete();
  }
}
