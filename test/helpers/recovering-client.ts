import { expect } from 'vitest';
import { TestClient, type Frame } from './client.js';

export const PROTOCOLS = ['ws-hub.v1', 'ws-hub.recovery'];

/** A raw client speaking the recovery extension, keeping its positions like ws-hub/client does. */
export class Recovering {
  session: string | undefined;
  clientId = '';
  readonly positions = new Map<string, { epoch: string; offset: number }>();
  readonly pushes: Frame[] = [];
  c!: TestClient;

  async connect(url: string, token?: string): Promise<Frame> {
    this.c = await TestClient.connect(url + (token ? `?token=${token}` : ''), {
      protocols: PROTOCOLS,
    });
    expect(this.c.ws.protocol).toBe('ws-hub.recovery');
    this.c.ws.on('message', (raw) => {
      const f = JSON.parse(raw.toString()) as Frame & { pos?: Record<string, [number, string]> };
      if (f.pos) {
        this.pushes.push(f);
        for (const [s, [offset, epoch]] of Object.entries(f.pos)) {
          const mine = this.positions.get(s);
          // A multi-room message names rooms this client is not in: only its own streams count
          // (those of the welcome and of its joins), or a resume would join the others.
          if (!mine) continue;
          if (mine.epoch !== epoch || offset > mine.offset)
            this.positions.set(s, { epoch, offset });
        }
      }
    });
    this.c.send({
      event: 'recover',
      id: 'r',
      data: { session: this.session, streams: Object.fromEntries(this.positions) },
    });
    const welcome = await this.c.next((f) => f.event === 'welcome');
    const rec = welcome.data.recovery;
    this.session = rec.session;
    this.clientId = welcome.data.clientId;
    for (const [s, st] of Object.entries(
      rec.streams as Record<string, { epoch: string; offset: number; recovered?: boolean }>,
    )) {
      const mine = this.positions.get(s);
      if (!mine || mine.epoch !== st.epoch || (st.recovered !== true && st.offset > mine.offset)) {
        if (st.recovered !== true) this.positions.set(s, { epoch: st.epoch, offset: st.offset });
      }
    }
    return welcome;
  }

  async join(room: string): Promise<void> {
    const reply = await this.c.request({ event: 'join', id: `j-${room}`, data: { room } });
    const [offset, epoch] = reply.data.pos as [number, string];
    this.positions.set(`room:${room}`, { epoch, offset });
  }

  events(): unknown[] {
    return this.pushes.map((f) => f.data);
  }
}
