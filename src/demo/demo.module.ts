import { Module } from '@nestjs/common';
import { WsHubModule } from '../ws-hub/index.js';
import { DemoConfig } from './demo.config.js';
import { DemoController } from './demo.controller.js';
import { LoopMonitor } from './loop-monitor.js';

@Module({ providers: [DemoConfig], exports: [DemoConfig] })
export class DemoConfigModule {}

@Module({
  imports: [
    DemoConfigModule,
    WsHubModule.forRootAsync({
      imports: [DemoConfigModule],
      inject: [DemoConfig],
      useFactory: (config: DemoConfig) => config.hubOptions(),
    }),
  ],
  controllers: [DemoController],
  providers: [LoopMonitor],
})
export class DemoModule {}
