import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import type { INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import type { MessageMappingProperties } from '@nestjs/websockets';
import type { Observable } from 'rxjs';
import type { WebSocketServer } from 'ws';
import type { HubFrameHandler } from '../core/route-table.js';
import { kConnection, type Connection, type HubSocket as CoreSocket } from '../core/connection.js';
import { hubLogger } from '../util/logger.js';
import { errorText } from '../util/error-text.js';
import { CloseCode, DisconnectReason } from '../protocol/constants.js';
import { ConnectionGate, kConnectionGate } from './connection-gate.js';
import { answerUnknownPath } from './unknown-path.js';

/** Marks a ws server created by this adapter, so the gateway can tell a plain WsAdapter apart. */
export const kHubServer = Symbol('ws-hub.server');
/** Marks a socket accepted on the hub's endpoint, registered or not. */
const kHubSocket = Symbol('ws-hub.socket');
/** Marks the ws server options of the hub's endpoint (every gateway on its path shares them). */
export const kHubEndpoint = Symbol('ws-hub.endpoint');
/**
 * Where a hub socket keeps the handlers Nest bound to it, of every gateway on the hub's path:
 * the route table (`core/route-table.ts`) turns to them for the events it leaves to Nest.
 */
const kHandlers = Symbol('ws-hub.handlers');
/**
 * In the hub endpoint's ws server options: run before the server is created, once every
 * provider exists and before Nest binds the gateways' hooks.
 */
export const kBeforeConnect = Symbol('ws-hub.before-connect');
/** Where a socket keeps the sink its frames go to. */
export const kFrameSink = Symbol('ws-hub.frame-sink');

type Listener = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** @internal Where a hub socket's frames go: the hub (`HubCore`), set by the gateway on registration. */
export interface FrameSink {
  handleFrame(
    client: Connection,
    raw: Buffer | ArrayBuffer | Buffer[],
    isBinary: boolean,
    handlers: Map<string, HubFrameHandler>,
  ): void;
}

/** @internal A socket as the hub gateway marks it. */
export type GatedSocket = CoreSocket & {
  [kHubSocket]?: boolean;
  [kConnectionGate]?: ConnectionGate;
  [kFrameSink]?: FrameSink;
  [kHandlers]?: Map<string, HubFrameHandler>;
};

/**
 * The Nest WebSocket adapter for ws-hub: Nest's `WsAdapter` plus the hub's frame handling.
 * Every frame gets an answer (an error frame instead of a silent drop), limits apply before
 * any parsing, and handlers run without an rxjs pipeline per frame.
 *
 * `WsHubModule` installs it by itself when the app has no WebSocket adapter; pass it to
 * `app.useWebSocketAdapter(new WsHubSocketAdapter(app))` to be explicit.
 */
export class WsHubSocketAdapter extends WsAdapter {
  constructor(
    appOrHttpServer?: INestApplicationContext | object,
    private readonly resolveHttpServer?: () => unknown,
  ) {
    super(appOrHttpServer as INestApplicationContext);
  }

  override create(
    port: number,
    options?: Record<string, unknown> & { namespace?: string; server?: unknown },
  ) {
    (options?.[kBeforeConnect as never] as (() => void) | undefined)?.();
    // Installed while the app is being built, before its HTTP server exists: look it up now.
    if (!this.httpServer && this.resolveHttpServer) {
      (this as unknown as { httpServer: unknown }).httpServer = this.resolveHttpServer();
    }
    const server = super.create(port, options as never) as WebSocketServer & {
      [kHubServer]?: boolean;
    };
    server[kHubServer] = true;
    if (options?.[kHubEndpoint as never]) {
      // Registered before Nest's own listeners: every gateway on the path sees the mark, and
      // the gate that holds the app's gateways until the hub has accepted the connection.
      server.on('connection', (ws: GatedSocket) => {
        ws[kHubSocket] = true;
        const gate = (ws[kConnectionGate] = new ConnectionGate());
        ws.once('close', () => gate.drop());
      });
      // ws writes the 101 response right after this event and the welcome follows in the same
      // tick: corking the socket until the next tick sends both in one write (one syscall
      // less per handshake, measured at about 5 µs).
      server.on('headers', (_headers: string[], request: IncomingMessage) => {
        const socket = request.socket;
        socket.cork();
        process.nextTick(() => socket.uncork());
      });
    }
    return server;
  }

  /**
   * Nest's upgrade listener, except for paths no gateway serves: Nest destroys the socket (the
   * client sees a hang-up and no status); this answers HTTP 404, unless another upgrade
   * listener of the app (a GraphQL subscriptions server, say) may be the one to answer.
   */
  override ensureHttpServerExists(port: number, httpServer?: HttpServer): HttpServer | undefined {
    const registry = (this as unknown as { httpServersRegistry: Map<number, HttpServer> })
      .httpServersRegistry;
    const existed = registry.has(port);
    const server = super.ensureHttpServerExists(port, httpServer);
    if (existed) return server;
    const listeners = (this as unknown as { upgradeListenersRegistry: Map<number, Listener> })
      .upgradeListenersRegistry;
    const nest = listeners.get(port);
    const target = registry.get(port);
    if (!nest || !target) return server;
    const servers = (this as unknown as { wsServersRegistry: Map<number, { path: string }[]> })
      .wsServersRegistry;
    const ours: Listener = (request, socket, head) => {
      if (answerUnknownPath(target, ours, request, socket, servers.get(port) ?? [])) return;
      nest(request, socket, head);
    };
    target.off('upgrade', nest);
    target.on('upgrade', ours);
    listeners.set(port, ours);
    return server;
  }

  /** @internal Nest binds a gateway's handlers: the hub's sockets get one `message` listener. */
  override bindMessageHandlers(
    client: GatedSocket,
    handlers: MessageMappingProperties[],
    transform: (data: unknown) => Observable<unknown>,
  ): void {
    if (!client[kHubSocket]) {
      // A socket of some other gateway on this adapter: Nest's behaviour.
      super.bindMessageHandlers(client, handlers, transform);
      return;
    }
    // Nest calls this once per gateway on the path: their handlers go into one map, read by
    // one listener, so each frame is dispatched once, by the route table (which refused
    // duplicate events at startup).
    let map = client[kHandlers];
    if (!map) {
      const merged = (client[kHandlers] = map = new Map());
      client.on('message', (data: Buffer, isBinary: boolean) => {
        const hubClient = client[kConnection];
        const sink = client[kFrameSink];
        // Not registered (refused, or registration failed and it is being closed): ignored.
        if (hubClient === undefined || sink === undefined) return;
        // Last line of defence: nothing a frame causes may become an uncaughtException.
        try {
          sink.handleFrame(hubClient, data, isBinary, merged);
        } catch (err) {
          hubLogger.error(`frame handling failed: ${errorText(err)}`);
        }
      });
    }
    for (const h of handlers) {
      if (!map.has(h.message as string))
        map.set(h.message as string, h.callback as HubFrameHandler);
    }
  }

  override bindErrorHandler(server: WebSocketServer): WebSocketServer {
    server.on('connection', (ws: GatedSocket) =>
      ws.on('error', (err) => this.onClientError(ws, err)),
    );
    server.on('error', (err) => hubLogger.error(err));
    return server;
  }

  /**
   * Protocol violations (oversized or malformed frames) are the peer's fault and ws already
   * closed the socket with the right code: logging each would let clients flood the log.
   */
  private onClientError(ws: GatedSocket, err: Error & { code?: string }): void {
    const client = ws[kConnection];
    if (client && !client.closeReason && err.code) {
      // ws destroys the socket after a protocol error, so the close event only says 1006:
      // keep what really happened for the disconnected stream.
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        client.closeReason = DisconnectReason.PAYLOAD_TOO_LARGE;
        client.closeCode = CloseCode.MESSAGE_TOO_BIG;
      } else if (err.code.startsWith('WS_ERR_')) {
        client.closeReason = DisconnectReason.PROTOCOL_ERROR;
        client.closeCode =
          err.code === 'WS_ERR_INVALID_UTF8' ? CloseCode.INVALID_PAYLOAD : CloseCode.PROTOCOL_ERROR;
      }
    }
    if (err.code?.startsWith('WS_ERR_')) {
      hubLogger.debug(`client protocol error: ${err.code}`);
      return;
    }
    // Peers resetting connections are routine and must not flood the log.
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
      hubLogger.debug(`client socket error: ${err.code}`);
      return;
    }
    hubLogger.warn(`client socket error: ${err.message}`);
  }
}
