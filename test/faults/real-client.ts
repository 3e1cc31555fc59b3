import { WebSocket } from 'ws';
import { createHubClient, type WsHubClient } from '../../src/ws-hub/client/index.js';
import type { ClientRecord, ConnectionRecord, Pos } from './history.js';
import type { Prng } from './prng.js';
import { PUSH_EVENTS, type ClientEnv } from './raw-client.js';

/**
 * A `ws-hub/client` client (with `WebSocket` from `ws`), to check the real client too. Its
 * sockets are a `ws` subclass that records every frame in and every `recover`, `join` and
 * `leave` out, like the raw clients' connections; what the client hands to the app (`on`
 * listeners, with `replayed`) and its `recovered` on each open are recorded next to them.
 */
export class RealClient {
  readonly record: ClientRecord;
  readonly hub: WsHubClient;
  /** The socket of the current attempt. */
  socket: (WebSocket & { rec: ConnectionRecord; localPort?: number }) | undefined;
  /** Connection ids a fault ended. */
  readonly faulted = new Set<number>();

  constructor(
    index: number,
    readonly env: ClientEnv,
    private readonly prng: Prng,
  ) {
    this.record = { index, kind: 'real', userId: `u${index}`, connections: [] };
    const record = this.record;
    const faulted = this.faulted;
    const current = (s: RealClient['socket']) => (this.socket = s);
    let instance = 0;
    class RecordingWebSocket extends WebSocket {
      readonly rec: ConnectionRecord;
      localPort: number | undefined;
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols);
        const rec: ConnectionRecord = {
          id: env.nextConnectionId(),
          client: index,
          instance,
          tOpen: env.now(),
          frames: [],
          requests: [],
          app: [],
        };
        this.rec = rec;
        record.connections.push(rec);
        current(this);
        this.on('upgrade', (res) => (this.localPort = res.socket.localPort));
        this.on('message', (raw) => {
          const t = env.now();
          let f: { event: string; id?: string | number; data?: any; pos?: Record<string, Pos> };
          try {
            f = JSON.parse(raw.toString());
          } catch {
            return;
          }
          if (f.event === 'pong') return;
          if (f.event === 'welcome') {
            const r = f.data?.recovery;
            rec.welcome = {
              t,
              clientId: f.data?.clientId,
              userId: f.data?.userId,
              ...(r
                ? {
                    recovery: {
                      recovered: r.recovered,
                      streams: r.streams,
                      ...(r.refusedRooms ? { refusedRooms: r.refusedRooms } : {}),
                    },
                  }
                : {}),
            };
            return;
          }
          rec.frames.push({
            t,
            event: f.event,
            ...(f.id !== undefined ? { id: f.id } : {}),
            ...(f.pos ? { pos: f.pos } : {}),
            ...(PUSH_EVENTS.has(f.event) ? { m: f.data?.m } : { data: f.data }),
          });
        });
        this.on('close', (code, reason) => {
          rec.tClose = env.now();
          rec.tStop ??= rec.tClose;
          rec.code = code;
          rec.reason = reason.toString();
          rec.cause ??= faulted.has(rec.id) ? 'fault' : env.ended() ? 'end' : 'server-close';
        });
      }

      override send(data: any, ...rest: any[]): void {
        try {
          const f = JSON.parse(String(data));
          if (f.event === 'recover') {
            this.rec.presented = {
              session: typeof f.data?.session === 'string',
              streams: f.data?.streams ?? {},
            };
          } else if (f.event === 'join' || f.event === 'leave') {
            this.rec.requests.push({
              t: env.now(),
              op: f.event,
              room: f.data?.room,
              id: String(f.id),
            });
          }
        } catch {
          // not JSON: not ours to record
        }
        (super.send as (...a: any[]) => void)(data, ...rest);
      }
    }
    this.hub = createHubClient(
      () => {
        instance = this.prng.int(0, env.urls.length - 1);
        return env.urls[instance];
      },
      {
        WebSocket: RecordingWebSocket as never,
        token: this.record.userId,
        reconnect: { initialDelayMs: 100, maxDelayMs: 1_000, stableAfterMs: 5_000 },
        pingIntervalMs: 1_000,
        pongTimeoutMs: 4_000,
        connectTimeoutMs: 8_000,
        requestTimeoutMs: 8_000,
      },
    );
    for (const event of PUSH_EVENTS) {
      this.hub.on(event, (data: any, replayed?: boolean) => {
        this.socket?.rec.app?.push({ t: env.now(), m: data?.m, replayed: replayed === true });
      });
    }
    this.hub.onState((s) => {
      if (s.state === 'open' && this.socket) this.socket.rec.appRecovered = s.recovered;
    });
    this.hub.onRejoinError(() => undefined);
  }

  get online(): boolean {
    return this.hub.state === 'open';
  }

  join(room: string): void {
    this.hub.join(room).catch(() => undefined);
  }

  leave(room: string): void {
    this.hub.leave(room).catch(() => undefined);
  }

  race(room: string): void {
    this.join(room);
    this.leave(room);
  }

  dispose(): void {
    for (const c of this.record.connections) {
      if (c.tStop === undefined) {
        c.tStop = this.env.now();
        c.cause = 'end';
      }
    }
    this.hub.close();
  }
}
