import { afterEach, describe, expect, it } from 'vitest';
import { startHub, type HubApp } from '../helpers/app.js';
import { TestClient } from '../helpers/client.js';

describe('smoke', () => {
  let h: HubApp;
  afterEach(async () => h?.close());
  it('welcome and ack', async () => {
    h = await startHub();
    const c = await TestClient.welcomed(h.url);
    expect(c.id).toMatch(/\./);
    const ack = await c.request({ event: 'message', id: 7, data: { a: 1 } });
    expect(ack).toEqual({ event: 'ack', id: 7, data: { a: 1 } });
    c.send('not json');
    expect((await c.next((f) => f.event === 'error')).data.code).toBe('BAD_JSON');
    const closing = c.closed();
    await h.close();
    expect(await closing).toBe(1001);
  });
});
