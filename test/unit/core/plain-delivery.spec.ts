import { describe, expect, it } from 'vitest';
import { OutgoingFrame } from '../../../src/ws-hub/core/frame-writer.js';
import { sleep } from '../../helpers/client.js';
import {
  connectPeers,
  RecordingAdapter,
  type CoreParts,
  type Peer,
  useCoreParts,
} from '../../helpers/core-parts.js';

let core: CoreParts;

const fixture = useCoreParts();

async function setup(users: (string | undefined)[], distributed = false): Promise<Peer[]> {
  core = fixture.build({ welcome: false }, new RecordingAdapter(distributed));
  return connectPeers(core, fixture.pairs, users);
}

describe('PlainDelivery', () => {
  it('broadcast: this instance’s clients at once, the frame text to the others', async () => {
    const [a, b] = await setup([undefined, undefined]);
    core.rooms.add(a.client, 'r');
    const frame = new OutgoingFrame('{"event":"x"}');
    expect(core.strategy.broadcast(frame, undefined, [b.client.id])).toBe(1);
    expect(core.strategy.broadcast(frame, ['r'], undefined)).toBe(1);
    expect(await a.pair.frames(2)).toEqual(['{"event":"x"}', '{"event":"x"}']);
    expect(core.adapter.published).toEqual([
      { type: 'broadcast', frame: '{"event":"x"}', rooms: undefined, except: [b.client.id] },
      { type: 'broadcast', frame: '{"event":"x"}', rooms: ['r'], except: undefined },
    ]);
    await sleep(20);
    expect(b.pair.received).toEqual([]);
  });

  it('send: a client here directly; another instance’s through the adapter', async () => {
    const [a] = await setup([undefined], true);
    const frame = new OutgoingFrame('{"event":"s"}');
    expect(core.strategy.send(a.client.id, frame)).toBe(true);
    expect(core.strategy.send('inst2.x', frame)).toBe(true);
    // an id of this instance that is not here, and a string that is no client id: nowhere
    expect(core.strategy.send(`${core.instanceId}.gone`, frame)).toBe(false);
    expect(core.strategy.send('nonsense', frame)).toBe(false);
    expect(await a.pair.frames(1)).toEqual(['{"event":"s"}']);
    expect(core.adapter.published).toEqual([
      { type: 'send', clientId: 'inst2.x', frame: '{"event":"s"}' },
    ]);
  });

  it('send: with a single instance an unknown client is nowhere', async () => {
    await setup([]);
    expect(core.strategy.send('inst2.x', new OutgoingFrame('{}'))).toBe(false);
    expect(core.adapter.published).toEqual([]);
  });

  it('toUser: the user’s connections here, and the frame to the others', async () => {
    const [a, b, c] = await setup(['u1', 'u1', 'u2']);
    const frame = new OutgoingFrame('{"event":"u"}');
    expect(core.strategy.toUser('u1', frame)).toBe(2);
    expect(core.strategy.toUser('u3', frame)).toBe(0);
    expect(await a.pair.frames(1)).toEqual(['{"event":"u"}']);
    expect(await b.pair.frames(1)).toEqual(['{"event":"u"}']);
    expect(core.adapter.published).toEqual([
      { type: 'user', userId: 'u1', frame: '{"event":"u"}' },
      { type: 'user', userId: 'u3', frame: '{"event":"u"}' },
    ]);
    await sleep(20);
    expect(c.pair.received).toEqual([]);
  });

  it('applyRemote: delivers here only', async () => {
    const [a, b] = await setup(['u1', undefined]);
    core.rooms.add(b.client, 'r');
    core.strategy.applyRemote({ type: 'broadcast', frame: 'r', rooms: ['r'] });
    core.strategy.applyRemote({ type: 'send', clientId: a.client.id, frame: 's' });
    core.strategy.applyRemote({ type: 'user', userId: 'u1', frame: 'u' });
    core.strategy.applyRemote({ type: 'broadcast', frame: 'all', except: [a.client.id] });
    expect(await a.pair.frames(2)).toEqual(['s', 'u']);
    expect(await b.pair.frames(2)).toEqual(['r', 'all']);
    expect(core.adapter.published).toEqual([]);
  });

  it('welcomes every client at once and answers no route of its own', async () => {
    await setup([]);
    expect(core.strategy.admit()).toBe(true);
    expect(core.strategy.joinedPosition()).toBeUndefined();
    expect(core.strategy.routes.size).toBe(0);
    expect(core.strategy.idsMove).toBe(false);
  });
});
