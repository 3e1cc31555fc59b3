import { describe, expect, it } from 'vitest';
import * as ws from 'ws';
import {
  frameSenderOf,
  OutgoingFrame,
  writeFrame,
  writePing,
  type FrameSender,
} from '../../../src/ws-hub/core/frame-writer.js';

/** A stand-in for ws's socket: records what goes through the shared-frame path and send(). */
function fakeSocket(state = 0, extensions: Record<string, unknown> = {}) {
  const framed: Buffer[][] = [];
  const sent: unknown[] = [];
  const pings: number[] = [];
  const sender = { _state: state, sendFrame: (list: Buffer[]) => framed.push(list) };
  const socket = {
    _sender: sender,
    _extensions: extensions,
    send: (data: unknown) => sent.push(data),
    ping: () => pings.push(1),
  };
  return { socket: socket as never, sender: sender as FrameSender, framed, sent, pings };
}

// `Receiver` is a named export of ws's ESM entry that @types/ws does not declare.
const { Receiver } = ws as unknown as {
  Receiver: new (options: { isServer: boolean }) => NodeJS.WritableStream & {
    on(event: 'message', fn: (data: Buffer) => void): void;
    on(event: 'error', fn: (err: Error) => void): void;
  };
};

/** Decodes server frames the way a client does. */
function decode(buffers: Buffer[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const receiver = new Receiver({ isServer: false });
    receiver.on('message', (data: Buffer) => resolve(data.toString()));
    receiver.on('error', reject);
    receiver.write(Buffer.concat(buffers));
  });
}

describe('OutgoingFrame', () => {
  it.each([10, 125, 126, 65_535, 65_536, 300_000])(
    'builds one valid unmasked text frame of %i bytes',
    async (size) => {
      const text = 'x'.repeat(size);
      const frame = new OutgoingFrame(text);
      expect(frame.bytes).toBe(size);
      expect(frame.frame).toHaveLength(1);
      expect(frame.frame[0][1] & 0x80).toBe(0); // no mask bit
      expect(await decode(frame.frame)).toBe(text);
      expect(frame.frame).toBe(frame.frame); // framed once, reused
    },
  );
});

describe('writeFrame', () => {
  it('writes the shared frame when the sender is idle', () => {
    const f = fakeSocket(0);
    const frame = new OutgoingFrame('{"event":"a"}');
    expect(writeFrame(f.socket, f.sender, frame)).toBe(true);
    expect(f.framed).toEqual([frame.frame]);
    expect(f.sent).toEqual([]);
  });

  it('goes through send() when ws has frames queued, so frames never interleave', () => {
    const f = fakeSocket(1);
    const frame = new OutgoingFrame('{"event":"a"}');
    expect(writeFrame(f.socket, f.sender, frame)).toBe(false);
    expect(f.framed).toEqual([]);
    expect(f.sent).toEqual([frame.payload]);
  });

  it('goes through send() when the socket has no frame sender', () => {
    const f = fakeSocket(0);
    expect(writeFrame(f.socket, undefined, new OutgoingFrame('{}'))).toBe(false);
    expect(f.sent).toHaveLength(1);
  });
});

describe('frameSenderOf', () => {
  it('gives the sender of a plain socket', () => {
    const f = fakeSocket();
    expect(frameSenderOf(f.socket)).toBe(f.sender);
  });

  it('gives none when permessage-deflate was negotiated', () => {
    const f = fakeSocket(0, { 'permessage-deflate': {} });
    expect(frameSenderOf(f.socket)).toBeUndefined();
  });

  it('gives none when ws internals are not what it expects', () => {
    expect(frameSenderOf({} as never)).toBeUndefined();
    expect(frameSenderOf({ _sender: {} } as never)).toBeUndefined();
  });
});

describe('writePing', () => {
  it('writes the pre-built empty ping when idle, else calls ping()', () => {
    const idle = fakeSocket(0);
    writePing(idle.socket);
    expect(idle.framed).toEqual([[Buffer.from([0x89, 0x00])]]);
    const busy = fakeSocket(2);
    writePing(busy.socket);
    expect(busy.framed).toEqual([]);
    expect(busy.pings).toHaveLength(1);
  });
});
