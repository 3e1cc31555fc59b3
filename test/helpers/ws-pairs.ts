import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import type { HubSocket } from '../../src/ws-hub/core/connection.js';
import { waitFor } from './client.js';

/** One connection: the server's end (what the hub writes to) and the client's. */
export interface WsPair {
  /** The server side of the connection, as the hub holds it. */
  readonly server: HubSocket;
  readonly client: WebSocket;
  /** Text frames the client received, in order. */
  readonly received: string[];
  /** Settles with the close the client saw (1006 when the connection was cut). */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Waits until the client received at least `n` frames; returns them all. */
  frames(n: number, timeoutMs?: number): Promise<string[]>;
}

/**
 * A `ws` server on 127.0.0.1 on a free port, for unit tests whose subject writes to or closes
 * real sockets: `connect()` opens a client and hands back both ends; `close()` ends every
 * connection and the server (no open handles left).
 */
export interface WsPairs {
  connect(options?: { protocol?: string }): Promise<WsPair>;
  /** Ends every connection opened so far (the server keeps listening). */
  closeAll(): void;
  close(): Promise<void>;
}

export async function startWsPairs(): Promise<WsPairs> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const port = (wss.address() as AddressInfo).port;
  const waiting: ((socket: WebSocket) => void)[] = [];
  const arrived: WebSocket[] = [];
  const clients = new Set<WebSocket>();
  wss.on('connection', (socket) => {
    const take = waiting.shift();
    if (take) take(socket);
    else arrived.push(socket);
  });
  const closeAll = (): void => {
    for (const c of clients) c.terminate();
    clients.clear();
    for (const s of wss.clients) s.terminate();
  };
  return {
    async connect(options = {}) {
      const serverSide = new Promise<WebSocket>((resolve) => {
        const early = arrived.shift();
        if (early) resolve(early);
        else waiting.push(resolve);
      });
      const client = new WebSocket(`ws://127.0.0.1:${port}`, options.protocol);
      clients.add(client);
      const received: string[] = [];
      client.on('message', (data, isBinary) => {
        if (!isBinary) received.push(data.toString());
      });
      client.on('error', () => undefined);
      const closed = new Promise<{ code: number; reason: string }>((resolve) =>
        client.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
      );
      await new Promise<void>((resolve, reject) => {
        client.once('open', () => resolve());
        client.once('error', reject);
      });
      const server = (await serverSide) as HubSocket;
      return {
        server,
        client,
        received,
        closed,
        async frames(n, timeoutMs = 3000) {
          await waitFor(() => received.length >= n, timeoutMs);
          return received;
        },
      };
    },
    closeAll,
    async close() {
      closeAll();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
