import type { Type } from '@nestjs/common';
import { MetadataScanner, type ModulesContainer } from '@nestjs/core';
import { WebSocketGateway } from '@nestjs/websockets';
import { HubExceptionFilter } from './exception.filter.js';
import {
  EXCEPTION_FILTERS_METADATA,
  GATEWAY_METADATA,
  GATEWAY_OPTIONS,
  HUB_GATEWAY_METADATA,
  MESSAGE_MAPPING_METADATA,
  MESSAGE_METADATA,
  PORT_METADATA,
} from './nest-metadata.js';

/** One `@SubscribeMessage` handler of a gateway class. */
export interface GatewayHandler {
  event: string;
  /** `ClassName.method`, for messages. */
  owner: string;
}

/** Thrown at startup when two handlers of the hub's gateways take the same event. */
export class DuplicateHandlerError extends Error {
  constructor(event: string, first: string, second: string) {
    super(
      `WsHubModule: event "${event}" has two handlers, ${first} and ${second}; ` +
        'each event of the hub may have one handler (rename one of them)',
    );
    this.name = 'DuplicateHandlerError';
  }
}

/** Nest's path normalisation for ws gateways: a leading `/`, no trailing one. */
function normalisePath(path: unknown): string {
  const p = typeof path === 'string' ? path : '/';
  const withSlash = p.startsWith('/') ? p : '/' + p;
  return withSlash.length > 1 ? withSlash.replace(/\/+$/, '') : withSlash;
}

/**
 * The app's gateways that belong on the hub's endpoint: `@HubGateway()` classes, and
 * `@WebSocketGateway` classes on the hub's path sharing the HTTP port.
 */
export function findAppGateways(
  modules: ModulesContainer,
  hubPath: string,
  isHubOwn: (type: Function) => boolean,
): Type[] {
  const found = new Set<Type>();
  for (const module of modules.values()) {
    for (const wrapper of module.providers.values()) {
      const type = wrapper.metatype as Type | undefined;
      if (typeof type !== 'function' || isHubOwn(type)) continue;
      if (Reflect.getMetadata(GATEWAY_METADATA, type) !== true) continue;
      const marked = Reflect.getMetadata(HUB_GATEWAY_METADATA, type) === true;
      const port = Reflect.getMetadata(PORT_METADATA, type) ?? 0;
      const options = (Reflect.getMetadata(GATEWAY_OPTIONS, type) ?? {}) as { path?: unknown };
      if (marked || (port === 0 && normalisePath(options.path) === hubPath)) found.add(type);
    }
  }
  return [...found];
}

/** The `@SubscribeMessage` handlers of a gateway class, inherited ones included. */
export function handlersOf(type: Type): GatewayHandler[] {
  const proto = type.prototype as Record<string, unknown>;
  const out: GatewayHandler[] = [];
  for (const name of new MetadataScanner().getAllMethodNames(proto)) {
    const method = proto[name];
    if (typeof method !== 'function') continue;
    if (!Reflect.getMetadata(MESSAGE_MAPPING_METADATA, method)) continue;
    const event = Reflect.getMetadata(MESSAGE_METADATA, method);
    if (typeof event === 'string') out.push({ event, owner: `${type.name}.${name}` });
  }
  return out;
}

/**
 * Every event the hub's gateways take, and by whom; throws `DuplicateHandlerError` naming both
 * handlers when two take the same event.
 */
export function eventOwners(handlers: GatewayHandler[]): Map<string, string> {
  const owners = new Map<string, string>();
  for (const h of handlers) {
    const first = owners.get(h.event);
    if (first !== undefined) throw new DuplicateHandlerError(h.event, first, h.owner);
    owners.set(h.event, h.owner);
  }
  return owners;
}

/**
 * Puts an app gateway on the hub's endpoint: the very same ws server options object (Nest
 * shares one server between gateways whose options hash alike, and the hub's carry its
 * handshake and limits), and the hub's exception filter as the last resort, so an exception no
 * filter of the app handles becomes the hub's error frame with the frame's id instead of
 * Nest's `exception` event. Runs before Nest reads the metadata in `app.init()`.
 */
export function adoptGateway(type: Type, serverOptions: object): void {
  WebSocketGateway(serverOptions)(type);
  const filters = (Reflect.getMetadata(EXCEPTION_FILTERS_METADATA, type) ?? []) as unknown[];
  if (!filters.some((f) => f instanceof HubExceptionFilter)) {
    // An instance, not the class: the module was scanned already, so a class added now would
    // not be found among its injectables. First in the class list = consulted last.
    Reflect.defineMetadata(
      EXCEPTION_FILTERS_METADATA,
      [new HubExceptionFilter(), ...filters],
      type,
    );
  }
}
