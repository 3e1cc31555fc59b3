import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import { HttpAdapterHost, ModuleRef } from '@nestjs/core';
import type { Server } from 'node:net';
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
 * line once the app is up, a clean shutdown (a drain: 1012 to every client, spread over
 * `drainMs`, before Nest's adapter would cut them with 1006; the cluster left, timers
 * stopped). A provider of its own, so that an app replacing `HubService` in a test still has a
 * working hub.
 */
/** How long Nest's close of the HTTP server may wait for its connections before a warning. */
export const HTTP_CLOSE_WARN_MS = 1_000;

@Injectable()
export class HubLifecycle
  implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  constructor(
    @Inject(WS_HUB_CORE) private readonly hub: HubCore,
    @Inject(WS_HUB_RESOLVED_OPTIONS) private readonly options: ResolvedHubOptions,
    @Inject(WS_HUB_ADAPTER) private readonly adapter: HubAdapter,
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
    @Inject(HttpAdapterHost) private readonly http: HttpAdapterHost,
  ) {}

  /** Removes the wait for the HTTP server's `listening` (shutdown before it came). */
  private stopWaiting: (() => void) | undefined;
  /** Warns when Nest's close of the HTTP server waits for connections (`watchHttpClose`). */
  private httpWatch: NodeJS.Timeout | undefined;

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

  /**
   * One log line with the effective options, once the app is up: when its HTTP server is
   * listening (`app.listen()` bootstraps the app before it listens; a port already in use then
   * never logs "ready"), or at once for an app without one (`app.init()` alone, a test).
   */
  onApplicationBootstrap(): void {
    const line = () =>
      hubLogger.log(startupSummary(this.options, this.adapter.constructor?.name ?? 'custom'));
    const server = this.http.httpAdapter?.getHttpServer?.() as Server | undefined;
    if (!server || typeof server.once !== 'function' || server.listening) return line();
    server.once('listening', line);
    this.stopWaiting = () => server.off('listening', line);
  }

  /**
   * Shutdown starts with a drain (`HubCore.drain`, unless `HubService.drain()` began one): not
   * ready, handshakes refused, clients closed with 1012 over `drainMs`. Whatever is still
   * connected then (nothing, normally) gets 1001 before Nest's ws adapter would cut it (1006).
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopWaiting?.();
    const hub = this.hub;
    if (hub.isShuttingDown) return;
    hub.isShuttingDown = true;
    const startMs = performance.now();
    const drained = await hub.drain();
    hub.heartbeat.stop();
    const rest = await hub.closer.drain(this.options.shutdownTimeoutMs);
    await hub.strategy.close();
    await hub.link.close();
    const answered = drained.answered + rest.answered;
    const cut = drained.clients + rest.clients - answered;
    hubLogger.log(
      `hub stopped: ${drained.clients} clients closed with 1012 over ${drained.spreadMs} ms` +
        (rest.clients ? ` and ${rest.clients} with 1001` : '') +
        `, ${answered} answered, ${cut} cut; ${Math.round(performance.now() - startMs)} ms`,
    );
    this.watchHttpClose();
  }

  onApplicationShutdown(): void {
    clearTimeout(this.httpWatch);
    this.hub.heartbeat.stop();
    this.hub.drainer.dispose();
    this.hub.expiry.clear();
    this.hub.closer.dispose();
    this.hub.events.complete();
  }

  /**
   * After the hub's shutdown Nest closes the HTTP server, and waits for its connections to end.
   * A keep-alive connection busy at that moment (a page polling an endpoint) keeps it open: the
   * process goes on answering requests on it, as if nothing had stopped. Nest's
   * `forceCloseConnections` (and `return503OnClosing`) prevent that; without them, a shutdown
   * still waiting after `HTTP_CLOSE_WARN_MS` says so once.
   */
  private watchHttpClose(): void {
    const server = this.http.httpAdapter?.getHttpServer?.() as Server | undefined;
    if (!server || typeof server.getConnections !== 'function') return;
    this.httpWatch = setTimeout(() => {
      server.getConnections((err, open) => {
        if (err || open === 0) return;
        hubLogger.warn(
          `shutdown waits for ${open} HTTP connection(s) still open: keep-alive clients keep ` +
            'this process answering; create the app with { forceCloseConnections: true, ' +
            'return503OnClosing: true } (see the README)',
        );
      });
    }, HTTP_CLOSE_WARN_MS);
    this.httpWatch.unref();
  }
}
