import net from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 the test controls, to make network faults a socket cannot make by
 * itself, in front of a hub (clients connect through it) or of a Redis (an instance reaches it
 * through `url`). Each connection is known by the client's local port (the proxy's inbound
 * remote port), so one connection can be cut or paused while the others flow.
 *
 * - `cut`: both sides are reset, no close frame (the hub sees the connection lost, the client a
 *   1006; a Redis client its connection dropped).
 * - `refuse(true)`: new connections are reset at once (the target unreachable) until
 *   `refuse(false)`; with `cut()`, the target is taken away from this one path only.
 * - `freeze`: bytes are read and thrown away in both directions, the connections kept open (a
 *   peer writing into the void, a half-open connection) until `thaw`.
 * - `pause`: nothing is read in either direction, nothing is lost (a stalled network, a slow
 *   Redis): bytes wait in the kernel buffers until `resume` or a cut.
 */
export interface TcpProxy {
  readonly port: number;
  /** The proxy as a Redis URL, for an instance to reach its Redis through it. */
  readonly url: string;
  /** Connections open through the proxy. */
  readonly open: number;
  /** Resets every connection (or the one from `localPort`); returns how many. */
  cut(localPort?: number): number;
  /**
   * While on, new connections are dropped at once (the server unreachable): a test can act
   * while a cut client is away, however fast it reconnects.
   */
  refuse(on: boolean): void;
  /** Every connection, and those opened until `thaw`, forwards nothing (bytes are dropped). */
  freeze(): void;
  thaw(): void;
  /**
   * Stops reading every connection, and those opened until `resume()` (or only the one from
   * `localPort`: false when there is none or it was paused already); nothing is lost. Returns
   * how many connections were open.
   */
  pause(): number;
  pause(localPort: number): boolean;
  /** Undoes `pause()` for all (or `pause(localPort)` for one; false when it was not paused). */
  resume(): void;
  resume(localPort: number): boolean;
  close(): Promise<void>;
}

interface Pair {
  inbound: net.Socket;
  outbound: net.Socket;
  /** Set by `pause(localPort)`, or for every pair while all are paused. */
  paused: boolean;
}

const discard = (): void => undefined;

export async function startTcpProxy(
  targetPort: number,
  targetHost = '127.0.0.1',
): Promise<TcpProxy> {
  const pairs = new Map<number, Pair>();
  let refusing = false;
  let allPaused = false;
  let frozen = false;
  /** Wires a pair as its state says: paused (nothing read), frozen (read and dropped), or flowing. */
  const apply = (p: Pair): void => {
    const { inbound, outbound } = p;
    inbound.unpipe(outbound);
    outbound.unpipe(inbound);
    inbound.off('data', discard);
    outbound.off('data', discard);
    if (p.paused) {
      inbound.pause();
      outbound.pause();
    } else if (frozen) {
      inbound.on('data', discard).resume();
      outbound.on('data', discard).resume();
    } else {
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    }
  };
  const server = net.createServer((inbound) => {
    if (refusing) return void inbound.resetAndDestroy();
    const key = inbound.remotePort ?? -1;
    const outbound = net.connect(targetPort, targetHost);
    const pair: Pair = { inbound, outbound, paused: allPaused };
    pairs.set(key, pair);
    apply(pair);
    const drop = (): void => {
      if (pairs.get(key) === pair) pairs.delete(key);
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('close', drop).on('error', drop);
    outbound.on('close', drop).on('error', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const cut = (localPort?: number): number => {
    const targets = localPort === undefined ? [...pairs.keys()] : [localPort];
    let n = 0;
    for (const key of targets) {
      const p = pairs.get(key);
      if (!p) continue;
      pairs.delete(key);
      p.inbound.resetAndDestroy();
      p.outbound.resetAndDestroy();
      n++;
    }
    return n;
  };
  function pause(): number;
  function pause(localPort: number): boolean;
  function pause(localPort?: number): number | boolean {
    if (localPort !== undefined) {
      const p = pairs.get(localPort);
      if (!p || p.paused) return false;
      p.paused = true;
      apply(p);
      return true;
    }
    allPaused = true;
    for (const p of pairs.values()) {
      if (p.paused) continue;
      p.paused = true;
      apply(p);
    }
    return pairs.size;
  }
  function resume(): void;
  function resume(localPort: number): boolean;
  function resume(localPort?: number): void | boolean {
    if (localPort !== undefined) {
      const p = pairs.get(localPort);
      if (!p || !p.paused || allPaused) return false;
      p.paused = false;
      apply(p);
      return true;
    }
    allPaused = false;
    for (const p of pairs.values()) {
      if (!p.paused) continue;
      p.paused = false;
      apply(p);
    }
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get open() {
      return pairs.size;
    },
    cut,
    refuse(on: boolean) {
      refusing = on;
    },
    freeze() {
      frozen = true;
      for (const p of pairs.values()) apply(p);
    },
    thaw() {
      frozen = false;
      for (const p of pairs.values()) apply(p);
    },
    pause,
    resume,
    async close() {
      refusing = true;
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
