import * as ws from 'ws';
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import type { Positions } from '../protocol/streams.js';

// `Sender` is a named export of ws's ESM entry that @types/ws does not declare.
const { Sender } = ws as unknown as {
  Sender: { frame(data: Buffer, options: Record<string, unknown>): Buffer[] };
};

const OPEN = WebSocket.OPEN;
/** ws's Sender state in which nothing is queued and a frame can be written straight away. */
const SENDER_IDLE = 0;

/** ws internals this module relies on; `frameSenderOf` checks them once per connection. */
interface SocketInternals {
  _sender?: { _state?: number; sendFrame(list: Buffer[], cb?: () => void): void };
  _extensions?: Record<string, unknown>;
  _socket?: Socket;
}

/** The TCP socket under a ws socket (for corking and the peer address), if it has one. */
export function tcpOf(socket: WebSocket): Socket | undefined {
  return (socket as unknown as SocketInternals)._socket;
}

/**
 * A server frame serialised once and framed once, to be written to any number of sockets.
 * One unmasked frame is valid for every client; `ws` would otherwise build a new header and
 * copy the payload for every `send()`.
 */
export class OutgoingFrame {
  private encoded: Buffer | undefined;
  private framed: Buffer[] | undefined;

  constructor(
    readonly text: string,
    /** For a positioned frame (recovery): the message's positions, by stream. */
    readonly positions?: Positions,
  ) {}

  /** The UTF-8 payload, encoded on first use (a frame sent to one client as text never is). */
  get payload(): Buffer {
    return (this.encoded ??= Buffer.from(this.text));
  }

  get bytes(): number {
    return this.payload.length;
  }

  /** Header and payload in one buffer, so each write is a single syscall-sized chunk. */
  get frame(): Buffer[] {
    if (!this.framed) {
      const [header, data] = Sender.frame(this.payload, {
        fin: true,
        rsv1: false,
        opcode: 1,
        mask: false,
        readOnly: true,
      }) as Buffer[];
      this.framed = [data ? Buffer.concat([header, data]) : header];
    }
    return this.framed;
  }
}

/** ws's sender of a socket, as far as this module uses it. */
export type FrameSender = NonNullable<SocketInternals['_sender']>;

/**
 * The sender a pre-built frame may be written through, or undefined when the socket must go
 * through `send()`: permessage-deflate was negotiated (the client asked for compression), or
 * ws's internals are not what this module expects. Decided once per connection.
 */
export function frameSenderOf(socket: WebSocket): FrameSender | undefined {
  const internals = socket as unknown as SocketInternals;
  const sender = internals._sender;
  if (
    sender === undefined ||
    typeof sender.sendFrame !== 'function' ||
    internals._extensions?.['permessage-deflate'] !== undefined
  ) {
    return undefined;
  }
  return sender;
}

/**
 * Writes a frame to one socket: the shared pre-built frame when the socket has a frame sender
 * and it is idle, else `send()` so that compression and ws's own queue keep working and
 * frames never interleave. Returns true when the shared frame was used.
 */
export function writeFrame(
  socket: WebSocket,
  sender: FrameSender | undefined,
  frame: OutgoingFrame,
): boolean {
  if (sender !== undefined && sender._state === SENDER_IDLE) {
    sender.sendFrame(frame.frame);
    return true;
  }
  socket.send(frame.payload, { binary: false });
  return false;
}

/** An empty ping: FIN + opcode 0x9, unmasked, zero length. The same bytes for every client. */
const PING_FRAME = [Buffer.from([0x89, 0x00])];

/**
 * Pings one socket with the shared pre-built frame when its sender is idle (control frames are
 * never compressed, so permessage-deflate does not matter), else through `ping()`.
 */
export function writePing(socket: WebSocket): void {
  const sender = (socket as unknown as SocketInternals)._sender;
  if (sender !== undefined && sender._state === SENDER_IDLE) {
    sender.sendFrame(PING_FRAME);
    return;
  }
  socket.ping();
}

/** Pings a socket if it is open; a socket closing meanwhile is left to its close event. */
export function pingIfOpen(socket: WebSocket): void {
  if (!isOpen(socket)) return;
  try {
    writePing(socket);
  } catch {
    // The socket closed between the check and the write; its close event unregisters it.
  }
}

export function isOpen(socket: WebSocket): boolean {
  return socket.readyState === OPEN;
}
