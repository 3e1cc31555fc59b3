import type { Type } from '@nestjs/common';
import { MetadataScanner, type ModulesContainer } from '@nestjs/core';
import { WebSocketGateway } from '@nestjs/websockets';
import { kConnectionGate } from '../socket/connection-gate.js';
import type { GatedSocket } from '../socket/ws-hub-socket.adapter.js';
import type { GatewayRoute } from '../core/route-table.js';
import { HubExceptionFilter } from './exception.filter.js';
import {
  EXCEPTION_FILTERS_METADATA,
  GATEWAY_METADATA,
  GATEWAY_OPTIONS,
  HUB_GATEWAY_METADATA,
  MESSAGE_MAPPING_METADATA,
  MESSAGE_METADATA,
  PORT_METADATA,
} from '../decorators/nest-metadata.js';

/** Nest's path normalisation for ws gateways: a leading `/`, no trailing one. */
function normalisePath(path: unknown): string {
  const p = typeof path === 'string' ? path : '/';
  const withSlash = p.startsWith('/') ? p : '/' + p;
  return withSlash.length > 1 ? withSlash.replace(/\/+$/, '') : withSlash;
}

/** A gateway of the app that is not on the hub's endpoint: a WebSocket endpoint of its own. */
interface OtherGateway {
  name: string;
  path: string;
  /** 0: the app's HTTP port. */
  port: number;
}

/**
 * The app's gateways: those that belong on the hub's endpoint (`@HubGateway()` classes, and
 * `@WebSocketGateway` classes on the hub's path sharing the HTTP port), and the others, each
 * of which opens an endpoint of its own, without the hub's authentication and limits.
 */
export function findAppGateways(
  modules: ModulesContainer,
  hubPath: string,
  isHubOwn: (type: Function) => boolean,
): { onHub: Type[]; others: OtherGateway[] } {
  const found = new Set<Type>();
  const others = new Map<Type, OtherGateway>();
  for (const module of modules.values()) {
    for (const wrapper of module.providers.values()) {
      const type = wrapper.metatype as Type | undefined;
      if (typeof type !== 'function' || isHubOwn(type)) continue;
      if (Reflect.getMetadata(GATEWAY_METADATA, type) !== true) continue;
      const marked = Reflect.getMetadata(HUB_GATEWAY_METADATA, type) === true;
      const port = Number(Reflect.getMetadata(PORT_METADATA, type) ?? 0) || 0;
      const options = (Reflect.getMetadata(GATEWAY_OPTIONS, type) ?? {}) as { path?: unknown };
      const path = normalisePath(options.path);
      if (marked || (port === 0 && path === hubPath)) found.add(type);
      else others.set(type, { name: type.name, path, port });
    }
  }
  return { onHub: [...found], others: [...others.values()] };
}

/** The startup warning for a gateway that opens an endpoint of its own. */
export function otherGatewayWarning(g: OtherGateway, hubPath: string): string {
  const where = g.port === 0 ? `"${g.path}"` : `"${g.path}" on port ${g.port}`;
  return (
    `${g.name} opens another WebSocket endpoint at ${where}, without the hub's ` +
    `authentication, limits and protocol; to serve its events on the hub, declare it with ` +
    `@HubGateway() (or @WebSocketGateway({ path: '${hubPath}' }))`
  );
}

/**
 * The `@SubscribeMessage` handlers of a gateway class, inherited ones included, as routes of
 * the hub's route table (`RouteTable.addGateways` refuses an event taken twice).
 */
export function handlersOf(type: Type): GatewayRoute[] {
  const proto = type.prototype as Record<string, unknown>;
  const out: GatewayRoute[] = [];
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
 * Puts an app gateway on the hub's endpoint: the very same ws server options object (Nest
 * shares one server between gateways whose options hash alike, and the hub's carry its
 * handshake and limits), and the hub's exception filter as the last resort, so an exception no
 * filter of the app handles becomes the hub's error frame with the frame's id instead of
 * Nest's `exception` event. Runs before Nest reads the metadata in `app.init()`.
 */
export function adoptGateway(type: Type, serverOptions: object): void {
  WebSocketGateway(serverOptions)(type);
  deferConnectionHooks(type);
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

const kDeferred = Symbol('ws-hub.deferred-hooks');

/**
 * The same for hooks written as arrow-function properties (`handleConnection = (s) => ...`),
 * which live on each instance: wrapped once the instances exist, before Nest binds the hooks
 * (when the hub's ws server is created, see `kBeforeConnect`).
 */
export function deferInstanceHooks(instance: object): void {
  const own = instance as Record<string | symbol, unknown>;
  if (Object.hasOwn(own, kDeferred)) return; // (the prototype has its own mark)
  own[kDeferred] = true;
  const hooks = { handleConnection: 'connect', handleDisconnect: 'disconnect' } as const;
  for (const [name, kind] of Object.entries(hooks)) {
    if (!Object.hasOwn(own, name) || typeof own[name] !== 'function') continue;
    const hook = own[name] as (...args: unknown[]) => unknown;
    own[name] = kind === 'connect' ? deferredConnect(hook) : deferredDisconnect(hook);
  }
}

function deferredConnect(connect: (...args: unknown[]) => unknown) {
  return function (this: unknown, socket: GatedSocket, ...rest: unknown[]) {
    const gate = socket?.[kConnectionGate];
    if (!gate) return connect.call(this, socket, ...rest);
    gate.whenOpen(() => connect.call(this, socket, ...rest));
  };
}

function deferredDisconnect(disconnect: (...args: unknown[]) => unknown) {
  return function (this: unknown, socket: GatedSocket, ...rest: unknown[]) {
    const gate = socket?.[kConnectionGate];
    if (gate && !gate.opened) return;
    return disconnect.call(this, socket, ...rest);
  };
}

/** The instances of a provider class, in every module that has it. */
export function instancesOf(modules: ModulesContainer, type: Type): object[] {
  const out: object[] = [];
  for (const module of modules.values()) {
    const instance = module.providers.get(type)?.instance as object | undefined;
    if (instance && typeof instance === 'object') out.push(instance);
  }
  return out;
}

/**
 * An app gateway on the hub's endpoint sees only connections the hub accepted, and only once
 * their welcome went out (after the `recover` exchange, under the resumed client id): its
 * `handleConnection` waits on the socket's gate, and its `handleDisconnect` runs only for
 * connections it saw. Sockets that are not on a hub's endpoint (another app in the process,
 * another path) reach the hooks as before.
 */
function deferConnectionHooks(type: Type): void {
  const proto = type.prototype as Record<string | symbol, unknown>;
  if (Object.hasOwn(proto, kDeferred)) return;
  proto[kDeferred] = true;
  const connect = proto.handleConnection;
  if (typeof connect === 'function') {
    proto.handleConnection = deferredConnect(connect as (...args: unknown[]) => unknown);
  }
  const disconnect = proto.handleDisconnect;
  if (typeof disconnect === 'function') {
    proto.handleDisconnect = deferredDisconnect(disconnect as (...args: unknown[]) => unknown);
  }
}
