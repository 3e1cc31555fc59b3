import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { WsHubModuleExtras, WsHubModuleOptions } from '../interfaces/options.interface.js';
import { WS_HUB_MODULE_OPTIONS } from '../core/tokens.js';

export const { ConfigurableModuleClass, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<WsHubModuleOptions>({
    moduleName: 'WsHub',
    optionsInjectionToken: WS_HUB_MODULE_OPTIONS,
  })
    .setClassMethodName('forRoot')
    .setFactoryMethodName('createWsHubOptions')
    .setExtras<WsHubModuleExtras>({ isGlobal: true }, (definition, extras) => ({
      ...definition,
      global: extras.isGlobal,
    }))
    .build();

/**
 * What `WsHubModule.forRootAsync` accepts: `useFactory` (with `inject` and `imports`),
 * `useClass` or `useExisting` (a `WsHubOptionsFactory`), plus `isGlobal`.
 */
export type WsHubModuleAsyncOptions = typeof ASYNC_OPTIONS_TYPE;
