import { describe, expect, it } from 'vitest';
import { ClusterLink } from '../../../src/ws-hub/cluster/cluster-link.js';
import type { ClientReceiver, Connection } from '../../../src/ws-hub/core/connection.js';
import { MAX_ROOM_LENGTH, Rooms, isValidRoom } from '../../../src/ws-hub/core/rooms.js';
import { ErrorCode } from '../../../src/ws-hub/protocol/constants.js';
import { fakeConnection, RecordingAdapter } from '../../helpers/core-parts.js';

function setup(maxRoomsPerClient = 100, adapter = new RecordingAdapter()) {
  const rooms = new Rooms(new ClusterLink(adapter, 'inst1'), maxRoomsPerClient);
  return { rooms, adapter };
}

/** A receiver that records what it is told about rooms. */
function recordingReceiver(log: string[]): ClientReceiver {
  return {
    firstFrame: undefined,
    hold: () => false,
    deliver: () => true,
    roomJoined: (_client, room, byClient) => void log.push(`joined ${room} ${byClient}`),
    roomLeft: (_client, room, byServer) => void log.push(`left ${room} ${byServer}`),
    removed: () => undefined,
  };
}

const deferred = <T>() => {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
};

describe('isValidRoom', () => {
  it('takes non-empty strings up to the maximum length', () => {
    expect(isValidRoom('a')).toBe(true);
    expect(isValidRoom('x'.repeat(MAX_ROOM_LENGTH))).toBe(true);
    expect(isValidRoom('x'.repeat(MAX_ROOM_LENGTH + 1))).toBe(false);
    expect(isValidRoom('')).toBe(false);
    expect(isValidRoom(7)).toBe(false);
    expect(isValidRoom(undefined)).toBe(false);
  });
});

describe('Rooms', () => {
  it('subscribes a room with its first member here and unsubscribes with its last', () => {
    const { rooms, adapter } = setup();
    const a = fakeConnection();
    const b = fakeConnection();
    rooms.add(a, 'r');
    rooms.add(b, 'r');
    rooms.add(a, 'r'); // already in: nothing
    expect([...rooms.members('r')!]).toEqual([a, b]);
    expect(rooms.count).toBe(1);
    expect(rooms.names()).toEqual(['r']);
    expect([...a.rooms!]).toEqual(['r']);
    expect(adapter.calls).toEqual(['roomAdded r']);

    expect(rooms.remove(a, 'r')).toBe(true);
    expect(rooms.remove(a, 'r')).toBe(false); // not a member any more
    expect(adapter.calls).toEqual(['roomAdded r']);
    expect(rooms.remove(b, 'r')).toBe(true);
    expect(adapter.calls).toEqual(['roomAdded r', 'roomRemoved r']);
    expect(rooms.members('r')).toBeUndefined();
    expect(rooms.count).toBe(0);
  });

  it('removeAll takes a client out of every room without telling its receiver', () => {
    const { rooms, adapter } = setup();
    const log: string[] = [];
    const a = fakeConnection();
    a.receiver = recordingReceiver(log);
    const b = fakeConnection();
    rooms.add(a, 'x');
    rooms.add(a, 'y');
    rooms.add(b, 'y');
    rooms.removeAll(a);
    expect(a.rooms!.size).toBe(0);
    expect(rooms.names()).toEqual(['y']);
    expect([...rooms.members('y')!]).toEqual([b]);
    expect(adapter.calls).toEqual(['roomAdded x', 'roomAdded y', 'roomRemoved x']);
    // its session (if any) keeps the rooms: the receiver hears only the joins
    expect(log).toEqual(['joined x false', 'joined y false']);
  });

  it("tells a client's receiver of joins and leaves, and by whom", () => {
    const { rooms } = setup();
    const log: string[] = [];
    const a = fakeConnection();
    a.receiver = recordingReceiver(log);
    rooms.add(a, 'r', true);
    rooms.remove(a, 'r', true);
    rooms.add(a, 's');
    rooms.remove(a, 's');
    expect(log).toEqual(['joined r true', 'left r true', 'joined s false', 'left s false']);
  });

  it('assertName throws a RangeError for a bad room name', () => {
    const { rooms } = setup();
    expect(() => rooms.assertName('')).toThrow(RangeError);
    expect(() => rooms.assertName('x'.repeat(MAX_ROOM_LENGTH + 1))).toThrow(/at most 128/);
    expect(() => rooms.assertName('ok')).not.toThrow();
  });

  describe('requestJoin', () => {
    it('refuses a bad room name with BAD_ENVELOPE', async () => {
      const { rooms } = setup();
      const a = fakeConnection();
      await expect(rooms.requestJoin(a, '', () => 1)).rejects.toMatchObject({
        code: ErrorCode.BAD_ENVELOPE,
      });
      await expect(rooms.requestJoin(a, 42, () => 1)).rejects.toMatchObject({
        code: ErrorCode.BAD_ENVELOPE,
      });
      expect(rooms.count).toBe(0);
    });

    it('joins, answers through `then`, and tells whether this request added the client', async () => {
      const { rooms, adapter } = setup();
      const a = fakeConnection();
      const seen: [string, boolean][] = [];
      const then = (room: string, added: boolean) => {
        seen.push([room, added]);
        return `ok ${room}`;
      };
      await expect(rooms.requestJoin(a, 'r', then)).resolves.toBe('ok r');
      await expect(rooms.requestJoin(a, 'r', then)).resolves.toBe('ok r');
      expect(seen).toEqual([
        ['r', true],
        ['r', false],
      ]);
      expect([...rooms.members('r')!]).toEqual([a]);
      expect(adapter.calls).toEqual(['roomAdded r']);
    });

    it('refuses past maxRoomsPerClient with FORBIDDEN', async () => {
      const { rooms } = setup(2);
      const a = fakeConnection();
      await rooms.requestJoin(a, 'r1', () => undefined);
      await rooms.requestJoin(a, 'r2', () => undefined);
      await expect(rooms.requestJoin(a, 'r3', () => undefined)).rejects.toMatchObject({
        code: ErrorCode.FORBIDDEN,
        message: 'at most 2 rooms per client',
      });
      // a room it is in already is not a new one
      await expect(rooms.requestJoin(a, 'r1', () => 'again')).resolves.toBe('again');
      expect([...a.rooms!]).toEqual(['r1', 'r2']);
    });

    it('asks authorizeJoin with who and which room, and refuses unless it says true', async () => {
      const { rooms } = setup();
      const asked: unknown[] = [];
      rooms.authorizeJoin = (ctx) => {
        asked.push(ctx);
        return ctx.room === 'open' ? true : ('yes' as never); // only `true` allows
      };
      const a = fakeConnection({ id: 'inst1.a', userId: 'u1' });
      await expect(rooms.requestJoin(a, 'open', () => 'in')).resolves.toBe('in');
      await expect(rooms.requestJoin(a, 'closed', () => 'in')).rejects.toMatchObject({
        code: ErrorCode.FORBIDDEN,
        message: 'not allowed to join "closed"',
      });
      expect(asked).toEqual([
        { clientId: 'inst1.a', userId: 'u1', principal: { userId: 'u1' }, room: 'open' },
        { clientId: 'inst1.a', userId: 'u1', principal: { userId: 'u1' }, room: 'closed' },
      ]);
      expect(rooms.names()).toEqual(['open']);
    });

    it('does not add a client removed while authorizeJoin was pending', async () => {
      const { rooms, adapter } = setup();
      const gate = deferred<boolean>();
      rooms.authorizeJoin = () => gate.promise;
      const a = fakeConnection();
      const join = rooms.requestJoin(a, 'r', (_room, added) => added);
      a.removed = true;
      gate.resolve(true);
      await expect(join).resolves.toBe(false);
      expect(rooms.count).toBe(0);
      expect(adapter.calls).toEqual([]);
    });

    it('counts the rooms again after an asynchronous authorizeJoin', async () => {
      const { rooms } = setup(1);
      const gates = [deferred<boolean>(), deferred<boolean>()];
      let n = 0;
      rooms.authorizeJoin = () => gates[n++].promise;
      const a = fakeConnection();
      const first = rooms.requestJoin(a, 'r1', () => 'r1');
      const second = rooms.requestJoin(a, 'r2', () => 'r2'); // another room: runs at once
      gates[0].resolve(true);
      await expect(first).resolves.toBe('r1');
      gates[1].resolve(true);
      await expect(second).rejects.toMatchObject({ code: ErrorCode.FORBIDDEN });
      expect([...a.rooms!]).toEqual(['r1']);
    });

    it("answers only once the room's subscription is confirmed", async () => {
      const sub = deferred<void>();
      const adapter = new RecordingAdapter();
      adapter.roomAdded = (room) => {
        adapter.calls.push(`roomAdded ${room}`);
        return sub.promise;
      };
      const { rooms } = setup(100, adapter);
      const a = fakeConnection();
      const b = fakeConnection();
      let answered = 0;
      const joinA = rooms.requestJoin(a, 'r', () => answered++);
      const joinB = rooms.requestJoin(b, 'r', () => answered++); // every joiner waits
      await new Promise((r) => setTimeout(r, 10));
      expect(answered).toBe(0);
      expect(rooms.members('r')!.size).toBe(2); // members already: the reply waits, not the join
      sub.resolve();
      await Promise.all([joinA, joinB]);
      expect(answered).toBe(2);
      expect(adapter.calls).toEqual(['roomAdded r']);
    });
  });

  describe('order of a client’s joins and leaves of one room', () => {
    it('a leave sent while a join is pending applies after it', async () => {
      const { rooms, adapter } = setup();
      const gate = deferred<boolean>();
      rooms.authorizeJoin = () => gate.promise;
      const a = fakeConnection();
      const order: string[] = [];
      const join = rooms.requestJoin(a, 'r', () => void order.push('joined'));
      const leave = rooms.requestLeave(a, 'r');
      expect(leave).toBeInstanceOf(Promise); // it waits for the join
      void Promise.resolve(leave).then(() => order.push('left'));
      gate.resolve(true);
      await join;
      await expect(leave).resolves.toBe('r');
      expect(order).toEqual(['joined', 'left']);
      expect(a.rooms!.has('r')).toBe(false);
      expect(rooms.count).toBe(0);
      expect(adapter.calls).toEqual(['roomAdded r', 'roomRemoved r']);
      // nothing pending any more: the next leave answers at once
      await Promise.resolve();
      expect(a.roomOps!.size).toBe(0);
      expect(rooms.requestLeave(a, 'r')).toBe('r');
    });

    it('join, leave, join end with the client in the room, in request order', async () => {
      const { rooms } = setup();
      const gates = [deferred<boolean>(), deferred<boolean>()];
      let n = 0;
      rooms.authorizeJoin = () => gates[n++].promise;
      const a = fakeConnection();
      const order: string[] = [];
      const j1 = rooms.requestJoin(a, 'r', (_room, added) => void order.push(`join1 ${added}`));
      const l = Promise.resolve(rooms.requestLeave(a, 'r')).then(() => order.push('leave'));
      const j2 = rooms.requestJoin(a, 'r', (_room, added) => void order.push(`join2 ${added}`));
      // the second authorizeJoin is asked only once the first join and the leave are done
      expect(n).toBe(1);
      gates[0].resolve(true);
      await l;
      expect(n).toBe(2);
      gates[1].resolve(true);
      await Promise.all([j1, j2]);
      expect(order).toEqual(['join1 true', 'leave', 'join2 true']);
      expect(a.rooms!.has('r')).toBe(true);
    });

    it('a failed join does not block the next request of the room', async () => {
      const { rooms } = setup();
      let allow = false;
      rooms.authorizeJoin = async () => allow;
      const a = fakeConnection();
      const refused = rooms.requestJoin(a, 'r', () => 'in');
      allow = true;
      const next = rooms.requestJoin(a, 'r', () => 'in');
      await expect(refused).rejects.toMatchObject({ code: ErrorCode.FORBIDDEN });
      await expect(next).resolves.toBe('in');
    });

    it('refuses a leave of a bad room name at once', () => {
      const { rooms } = setup();
      const a: Connection = fakeConnection();
      expect(() => rooms.requestLeave(a, '')).toThrow(
        expect.objectContaining({ code: ErrorCode.BAD_ENVELOPE }),
      );
      expect(rooms.requestLeave(a, 'never-joined')).toBe('never-joined');
    });
  });
});
