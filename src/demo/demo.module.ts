import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { WsHubModule } from '../ws-hub/index.js';
import { DemoConfig } from './demo.config.js';
import { DemoController } from './demo.controller.js';
import { HealthController } from './health.controller.js';
import { LoopMonitor } from './loop-monitor.js';

@Module({ providers: [DemoConfig], exports: [DemoConfig] })
export class DemoConfigModule {}

@Module({
  imports: [
    DemoConfigModule,
    TerminusModule,
    WsHubModule.forRootAsync({
      imports: [DemoConfigModule],
      inject: [DemoConfig],
      useFactory: (config: DemoConfig) => config.hubOptions(),
    }),
  ],
  controllers: [DemoController, HealthController],
  providers: [LoopMonitor],
})
export class DemoModule {}
