import { WebSocket, WebSocketServer } from 'ws';

/**
 * A WebSocket relay between a client and a hub with recovery, for tests of the client's
 * continuity rule: it records every frame from the hub and can repeat, lose or rewrite one
 * (`tamper`), what a buggy proxy or a broken server would do. It offers the hub the client's
 * subprotocols and picks `ws-hub.recovery` for the client (the hub has recovery on).
 */
export interface Relay {
  url: string;
  /** Frames from the hub, per connection (in arrival order). */
  fromHub: string[][];
  /** Close codes the client sent, per connection that closed. */
  clientCloses: number[];
  /** Decides what reaches the client for each frame from the hub (default: the frame). */
  tamper: (text: string) => string[];
  /** Resets every connection (both sides see it drop, without a close frame). */
  cut(): void;
  close(): Promise<void>;
}

export async function startRelay(target: string): Promise<Relay> {
  const server = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    // The hub has recovery on: it picks ws-hub.recovery whenever it is offered.
    handleProtocols: (offered) => (offered.has('ws-hub.recovery') ? 'ws-hub.recovery' : false),
  });
  await new Promise((resolve) => server.once('listening', resolve));
  const sockets = new Set<WebSocket>();
  const relay: Relay = {
    url: `ws://127.0.0.1:${(server.address() as { port: number }).port}/ws`,
    fromHub: [],
    clientCloses: [],
    tamper: (text) => [text],
    cut: () => {
      for (const s of sockets) s.terminate();
      sockets.clear();
    },
    close: async () => {
      for (const s of sockets) s.terminate();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  server.on('connection', (client, request) => {
    const protocols = String(request.headers['sec-websocket-protocol']).split(/,\s*/);
    const upstream = new WebSocket(target, protocols);
    sockets.add(client).add(upstream);
    const frames: string[] = [];
    relay.fromHub.push(frames);
    const pending: string[] = [];
    const end = (socket: WebSocket, code: number, reason: string) => {
      if (socket.readyState !== WebSocket.OPEN) return socket.terminate();
      if (code === 1005 || code === 1006) socket.terminate();
      else socket.close(code, reason);
    };
    upstream.on('open', () => {
      for (const text of pending.splice(0)) upstream.send(text);
    });
    upstream.on('message', (raw) => {
      const text = raw.toString();
      frames.push(text);
      for (const out of relay.tamper(text)) client.send(out);
    });
    upstream.on('close', (code, reason) => end(client, code, reason.toString()));
    upstream.on('error', () => undefined);
    client.on('message', (raw) => {
      if (upstream.readyState === WebSocket.OPEN) upstream.send(raw.toString());
      else pending.push(raw.toString());
    });
    client.on('close', (code, reason) => {
      relay.clientCloses.push(code);
      end(upstream, code, reason.toString());
    });
    client.on('error', () => undefined);
  });
  return relay;
}
