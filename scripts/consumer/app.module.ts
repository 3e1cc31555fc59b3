import { Controller, Get, Module, Query } from '@nestjs/common';
import { HubService, WsHubModule } from 'ws-hub';
import { hubOptions } from './hub-options.js';

/** Broadcasts over the hub from an HTTP request: `HubService` injected like any provider. */
@Controller()
export class BroadcastController {
  constructor(private readonly hub: HubService) {}

  @Get('broadcast')
  broadcast(@Query('text') text: string): { delivered: number; instanceId: string } {
    return { delivered: this.hub.broadcast('news', { text }), instanceId: this.hub.instanceId };
  }
}

@Module({
  imports: [WsHubModule.forRoot(hubOptions())],
  controllers: [BroadcastController],
})
export class AppModule {}
